//! A client for the parts of Dropbox's HTTP API the pipeline uses: OAuth token exchange and
//! refresh, change cursors, `list_folder`, and team members.

use std::time::Duration;

use prometheus::IntCounterVec;
use reqwest::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::crypto::Secret;

const SELECT_USER_HEADER: &str = "Dropbox-API-Select-User";
/// Dropbox's default wait when a 429 carries no usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum DropboxError {
    #[error("the cursor was reset; list the folder again")]
    Reset,
    #[error("the access token has expired")]
    ExpiredToken,
    #[error("Dropbox refused the grant: {0}")]
    InvalidGrant(String),
    #[error("Dropbox is rate limiting; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    #[error("Dropbox answered {status}: {summary}")]
    Api { status: u16, summary: String },
    #[error("Dropbox could not be reached: {0}")]
    Transport(#[from] reqwest::Error),
}

impl DropboxError {
    /// Whether the same call may succeed later without any change on our side.
    pub fn is_transient(&self) -> bool {
        match self {
            DropboxError::RateLimited { .. } | DropboxError::Transport(_) => true,
            DropboxError::Api { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// What `/oauth2/token` grants.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenGrant {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
}

/// One page of `files/list_folder[/continue]`. Entries stay raw JSON: they travel in `raw`.
#[derive(Debug, Clone, Deserialize)]
pub struct ListFolderPage {
    pub entries: Vec<Value>,
    pub cursor: String,
    pub has_more: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    pub team_member_id: String,
    pub account_id: String,
}

/// The app credentials a token call needs.
pub struct AppCredentials<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a Secret,
}

#[derive(Clone)]
pub struct DropboxApi {
    http: reqwest::Client,
    base_url: String,
    /// `<stage>_dropbox_calls_total{endpoint, outcome}`, when the stage counts them.
    calls: Option<IntCounterVec>,
}

impl DropboxApi {
    /// `base_url` is Dropbox's API host, or the simulator's (`DROPBOX_API_URL`).
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            calls: None,
        })
    }

    /// Counts every call by endpoint and outcome in `calls` (labels `endpoint`, `outcome`).
    pub fn counting_calls(mut self, calls: IntCounterVec) -> Self {
        self.calls = Some(calls);
        self
    }

    fn count<T>(&self, endpoint: &str, result: &Result<T, DropboxError>) {
        let Some(calls) = &self.calls else {
            return;
        };
        let outcome = match result {
            Ok(_) => "ok",
            Err(DropboxError::Reset) => "reset",
            Err(DropboxError::ExpiredToken) => "expired_token",
            Err(DropboxError::RateLimited { .. }) => "rate_limited",
            Err(DropboxError::InvalidGrant(_)) => "refused",
            Err(DropboxError::Api { status, .. }) if *status >= 500 => "server_error",
            Err(DropboxError::Api { .. }) => "client_error",
            Err(DropboxError::Transport(_)) => "unreachable",
        };
        calls.with_label_values(&[endpoint, outcome]).inc();
    }

    /// Exchanges an authorization code for tokens (`grant_type=authorization_code`).
    pub async fn exchange_code(
        &self,
        app: &AppCredentials<'_>,
        code: &str,
        redirect_uri: Option<&str>,
    ) -> Result<TokenGrant, DropboxError> {
        let mut form = vec![("grant_type", "authorization_code"), ("code", code)];
        form.extend(redirect_uri.map(|uri| ("redirect_uri", uri)));
        self.token(app, &form).await
    }

    /// A new access token from a refresh token (`grant_type=refresh_token`).
    pub async fn refresh(
        &self,
        app: &AppCredentials<'_>,
        refresh_token: &Secret,
    ) -> Result<TokenGrant, DropboxError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        self.token(app, &form).await
    }

    async fn token(
        &self,
        app: &AppCredentials<'_>,
        form: &[(&str, &str)],
    ) -> Result<TokenGrant, DropboxError> {
        let result = self.token_call(app, form).await;
        self.count("oauth2/token", &result);
        result
    }

    async fn token_call(
        &self,
        app: &AppCredentials<'_>,
        form: &[(&str, &str)],
    ) -> Result<TokenGrant, DropboxError> {
        let mut form = form.to_vec();
        form.push(("client_id", app.client_id));
        form.push(("client_secret", app.client_secret.expose()));
        let response = self
            .http
            .post(format!("{}/oauth2/token", self.base_url))
            .form(&form)
            .send()
            .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response.json().await?);
        }
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let describe = |key: &str| {
            body.get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        if status.is_client_error() {
            let reason = [describe("error"), describe("error_description")].join(": ");
            return Err(DropboxError::InvalidGrant(reason));
        }
        Err(DropboxError::Api {
            status: status.as_u16(),
            summary: describe("error"),
        })
    }

    /// The cursor at the current end of the account's change log: later changes only.
    pub async fn latest_cursor(
        &self,
        token: &Secret,
        member: Option<&str>,
    ) -> Result<String, DropboxError> {
        #[derive(Deserialize)]
        struct Cursor {
            cursor: String,
        }
        let args = json!({"path": "", "recursive": true, "include_deleted": false});
        let cursor: Cursor = self
            .rpc("files/list_folder/get_latest_cursor", token, member, &args)
            .await?;
        Ok(cursor.cursor)
    }

    /// The first page of everything under the root.
    pub async fn list_folder(
        &self,
        token: &Secret,
        member: Option<&str>,
    ) -> Result<ListFolderPage, DropboxError> {
        let args = json!({"path": "", "recursive": true});
        self.rpc("files/list_folder", token, member, &args).await
    }

    /// The changes since `cursor`, one page.
    pub async fn list_folder_continue(
        &self,
        token: &Secret,
        cursor: &str,
        member: Option<&str>,
    ) -> Result<ListFolderPage, DropboxError> {
        let args = json!({ "cursor": cursor });
        self.rpc("files/list_folder/continue", token, member, &args)
            .await
    }

    /// The account a user token belongs to (`users/get_current_account`).
    pub async fn current_account(&self, token: &Secret) -> Result<String, DropboxError> {
        #[derive(Deserialize)]
        struct Account {
            account_id: String,
        }
        let account: Account = self
            .rpc("users/get_current_account", token, None, &Value::Null)
            .await?;
        Ok(account.account_id)
    }

    /// The team a team token belongs to (`team/get_info`).
    pub async fn team_id(&self, token: &Secret) -> Result<String, DropboxError> {
        #[derive(Deserialize)]
        struct Team {
            team_id: String,
        }
        let team: Team = self.rpc("team/get_info", token, None, &Value::Null).await?;
        Ok(team.team_id)
    }

    /// Every member of the token's team, following `has_more`.
    pub async fn team_members(&self, token: &Secret) -> Result<Vec<TeamMember>, DropboxError> {
        #[derive(Deserialize)]
        struct Page {
            members: Vec<Member>,
            cursor: String,
            has_more: bool,
        }
        #[derive(Deserialize)]
        struct Member {
            profile: Profile,
        }
        #[derive(Deserialize)]
        struct Profile {
            team_member_id: String,
            account_id: String,
        }
        let mut page: Page = self
            .rpc("team/members/list", token, None, &json!({"limit": 200}))
            .await?;
        let mut members = Vec::new();
        loop {
            members.extend(page.members.into_iter().map(|m| TeamMember {
                team_member_id: m.profile.team_member_id,
                account_id: m.profile.account_id,
            }));
            if !page.has_more {
                return Ok(members);
            }
            let args = json!({ "cursor": page.cursor });
            page = self
                .rpc("team/members/list/continue", token, None, &args)
                .await?;
        }
    }

    async fn rpc<T: DeserializeOwned>(
        &self,
        route: &str,
        token: &Secret,
        member: Option<&str>,
        args: &Value,
    ) -> Result<T, DropboxError> {
        let result = self.rpc_call(route, token, member, args).await;
        self.count(route, &result);
        result
    }

    async fn rpc_call<T: DeserializeOwned>(
        &self,
        route: &str,
        token: &Secret,
        member: Option<&str>,
        args: &Value,
    ) -> Result<T, DropboxError> {
        let mut request = self
            .http
            .post(format!("{}/2/{route}", self.base_url))
            .bearer_auth(token.expose())
            .json(args);
        if let Some(member) = member {
            request = request.header(SELECT_USER_HEADER, member);
        }
        let response = request.send().await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response.json().await?);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok()?.trim().parse().ok())
            .map(Duration::from_secs);
        let body = response.text().await.unwrap_or_default();
        Err(classify_error(status, retry_after, &body))
    }
}

/// Maps an error answer to what the caller should do about it.
fn classify_error(status: StatusCode, retry_after: Option<Duration>, body: &str) -> DropboxError {
    let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let summary = json
        .get("error_summary")
        .and_then(Value::as_str)
        .unwrap_or(body)
        .to_owned();
    let tag = json.pointer("/error/.tag").and_then(Value::as_str);
    match (status.as_u16(), tag) {
        (409, Some("reset")) => DropboxError::Reset,
        (401, Some("expired_access_token")) => DropboxError::ExpiredToken,
        (429, _) => DropboxError::RateLimited {
            retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
        },
        (status, _) => DropboxError::Api { status, summary },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_what_the_caller_does_next() {
        let reset = r#"{"error_summary": "reset/..", "error": {".tag": "reset"}}"#;
        assert!(matches!(
            classify_error(StatusCode::CONFLICT, None, reset),
            DropboxError::Reset
        ));
        let expired = r#"{"error_summary": "expired_access_token/", "error": {".tag": "expired_access_token"}}"#;
        assert!(matches!(
            classify_error(StatusCode::UNAUTHORIZED, None, expired),
            DropboxError::ExpiredToken
        ));
        let limited = classify_error(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(3)),
            "",
        );
        assert!(limited.is_transient());
        assert!(
            matches!(limited, DropboxError::RateLimited { retry_after } if retry_after == Duration::from_secs(3))
        );
        assert!(classify_error(StatusCode::BAD_GATEWAY, None, "").is_transient());
        assert!(!classify_error(StatusCode::BAD_REQUEST, None, "bad").is_transient());
    }
}
