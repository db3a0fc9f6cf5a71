//! The element seam: everything vendor-specific (verifying a webhook, finding the accounts it
//! names, asking the vendor what changed, mapping its objects) sits behind this module. A new
//! vendor is a new module beside `dropbox` plus its arms here; the stages do not change.

pub mod dropbox;

use std::fmt;

use axum::http::HeaderMap;

pub use dropbox::webhook::AccountRef;

/// The connectors this deployment serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElementKey {
    /// Dropbox user apps.
    Dropbox,
    /// Dropbox Business team apps (team member file access).
    DropboxBusiness,
}

impl ElementKey {
    pub const ALL: [ElementKey; 2] = [ElementKey::Dropbox, ElementKey::DropboxBusiness];

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|element| element.as_str() == key)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ElementKey::Dropbox => "dropbox",
            ElementKey::DropboxBusiness => "dropboxbusiness",
        }
    }

    /// Whether instances connect a whole team (calls name a member) rather than one account.
    pub fn is_team(self) -> bool {
        matches!(self, ElementKey::DropboxBusiness)
    }

    /// Whether `headers` carry a valid signature of `body` by one of the app secrets.
    pub fn verify_webhook<'a>(
        self,
        secrets: impl IntoIterator<Item = &'a str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> bool {
        match self {
            ElementKey::Dropbox | ElementKey::DropboxBusiness => {
                dropbox::webhook::verify(secrets, headers, body)
            }
        }
    }

    /// The vendor signature header, as received, to keep on the raw record.
    pub fn signature_header(self, headers: &HeaderMap) -> Option<&str> {
        match self {
            ElementKey::Dropbox | ElementKey::DropboxBusiness => {
                dropbox::webhook::signature_header(headers)
            }
        }
    }

    /// The accounts a webhook body says changed.
    pub fn webhook_accounts(self, body: &[u8]) -> Result<Vec<AccountRef>, WebhookError> {
        match self {
            ElementKey::Dropbox | ElementKey::DropboxBusiness => dropbox::webhook::accounts(body),
        }
    }
}

impl fmt::Display for ElementKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a webhook body is not a notification of this element.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the body is not a notification: {0}")]
    NotANotification(&'static str),
}
