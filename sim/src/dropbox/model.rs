//! Public value types of the Dropbox simulator: apps, accounts, teams and the API call log.

use serde::{Deserialize, Serialize};

/// Whether an app is authorized by a single user or by a whole team (Dropbox Business).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppKind {
    User,
    Team,
}

/// A registered Dropbox app; its key and secret are OAuth's `client_id` and `client_secret`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    pub client_id: String,
    pub client_secret: String,
    pub kind: AppKind,
    pub webhook_url: Option<String>,
}

/// A Dropbox user. `uid` is the legacy numeric id that webhook bodies list under `delta.users`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub account_id: String,
    pub email: String,
    pub uid: u64,
}

/// A Dropbox Business team; each member is an account with its own file tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub team_id: String,
    /// What `team/get_info` and members' `users/get_current_account` call it.
    #[serde(default)]
    pub name: String,
    pub members: Vec<Member>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub team_member_id: String,
    pub account_id: String,
}

/// One request the simulated Dropbox API answered (control calls under `/sim/` are not logged).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiCall {
    /// `oauth2/token`, or the RPC route without `/2/`, e.g. `files/list_folder/continue`.
    pub route: String,
    /// The `Dropbox-API-Select-User` header, if sent.
    pub select_user: Option<String>,
    pub status: u16,
}
