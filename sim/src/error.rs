//! The library's error type.

/// What went wrong in a control operation of the simulator (not a Dropbox API error, which is an HTTP answer).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("unknown app {0:?}")]
    UnknownApp(String),
    #[error("unknown account or team member {0:?}")]
    UnknownAccount(String),
    #[error("unknown team {0:?}")]
    UnknownTeam(String),
    #[error("{0:?} is not a member of any team")]
    NotTeamMember(String),
    #[error(
        "{subject:?} cannot authorize app {client_id:?} (a user app needs an account, a team app a team)"
    )]
    SubjectMismatch { client_id: String, subject: String },
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    #[error("path not found: {0}")]
    NotFound(String),
    #[error("conflict: something else is already at {0}")]
    Conflict(String),
    #[error("app {0:?} has no webhook url")]
    NoWebhookUrl(String),
    #[error("webhook request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("state file: {0}")]
    Io(#[from] std::io::Error),
    #[error("state file: {0}")]
    Json(#[from] serde_json::Error),
}
