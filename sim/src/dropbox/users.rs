//! `users/get_current_account`: the full profile of a user token's account or of the member a team token selects.

use serde::Serialize;
use serde_json::Value;

use super::model::Account;
use super::state::State;
use super::team_info;

/// A union member without a value, e.g. `{".tag": "basic"}`.
#[derive(Debug, Serialize)]
pub(crate) struct Tag {
    #[serde(rename = ".tag")]
    pub tag: &'static str,
}

/// Dropbox's `Name`, the same in account and member profiles: "User 12345678" for the account with that uid.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Name {
    given_name: String,
    surname: String,
    familiar_name: String,
    display_name: String,
    abbreviated_name: String,
}

impl Name {
    pub(crate) fn of(account: &Account) -> Self {
        Self {
            given_name: "User".into(),
            surname: account.uid.to_string(),
            familiar_name: "User".into(),
            display_name: format!("User {}", account.uid),
            abbreviated_name: "U".into(),
        }
    }
}

/// Dropbox's `FullAccount`; `team` and `team_member_id` only for a team member.
#[derive(Debug, Serialize)]
pub(crate) struct FullAccount {
    account_id: String,
    name: Name,
    email: String,
    email_verified: bool,
    disabled: bool,
    country: &'static str,
    locale: &'static str,
    referral_link: String,
    is_paired: bool,
    account_type: Tag,
    root_info: RootInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team_member_id: Option<String>,
}

/// A personal root: the user's home namespace is also the root of their paths.
#[derive(Debug, Serialize)]
struct RootInfo {
    #[serde(rename = ".tag")]
    tag: &'static str,
    root_namespace_id: String,
    home_namespace_id: String,
}

/// The profile of an account (`dbid:` or `dbmid:`), or `None` if there is no such account.
pub(crate) fn current_account(state: &State, id: &str) -> Option<FullAccount> {
    let account = state.account(id).ok()?;
    let membership = state.membership(id);
    let team = membership
        .and_then(|m| state.team(&m.team_id))
        .map(team_info::full_team);
    // Derived rather than stored, so they stay the same across calls and saved states.
    let namespace_id = (account.uid + 1_000_000_000).to_string();
    let referral_code = account.account_id.get(7..17).unwrap_or_default();
    Some(FullAccount {
        account_id: account.account_id.clone(),
        name: Name::of(account),
        email: account.email.clone(),
        email_verified: true,
        disabled: false,
        country: "US",
        locale: "en",
        referral_link: format!("https://db.tt/{referral_code}"),
        is_paired: false,
        account_type: Tag {
            tag: if membership.is_some() {
                "business"
            } else {
                "basic"
            },
        },
        root_info: RootInfo {
            tag: "user",
            root_namespace_id: namespace_id.clone(),
            home_namespace_id: namespace_id,
        },
        team,
        team_member_id: membership.map(|m| m.team_member_id.clone()),
    })
}
