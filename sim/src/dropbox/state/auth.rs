//! The OAuth side of the state: minting and exchanging codes, refreshing, and which account a token may act on.

use serde::Serialize;

use super::State;
use crate::SimError;
use crate::dropbox::api_error::ApiError;
use crate::dropbox::model::AppKind;
use crate::dropbox::tokens::{Issued, OAuthError, Subject};

const TEAM_TOKEN_WITHOUT_SELECT_USER: &str = "This API function operates on a single Dropbox account, but the \
    OAuth 2 access token you provided is for an entire Dropbox Business team.  Since your API app key has team \
    member file access permissions, you can operate on a team member's Dropbox by providing the \
    \"Dropbox-API-Select-User\" HTTP header or \"select_user\" URL parameter to specify the exact user.";
const USER_TOKEN_WITH_SELECT_USER: &str = "Unexpected \"Dropbox-API-Select-User\" header: the OAuth 2 access \
    token you provided is for a single Dropbox account, not a Dropbox Business team.";
const USER_TOKEN_FOR_TEAM_ROUTE: &str = "This is a DfB team management function.  The OAuth 2 access token you \
    provided is for a specific Dropbox user account and does not work with this function.";

/// The client credentials of an `/oauth2/token` call, from its form or from HTTP Basic auth.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
}

/// A successful `/oauth2/token` answer.
#[derive(Debug, Serialize)]
pub(crate) struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team_id: Option<String>,
}

impl State {
    /// Mints a one-time code, as if `subject` (an account for a user app, a team for a team app) approved the app.
    pub(crate) fn authorization_code(
        &mut self,
        client_id: &str,
        subject: &str,
        redirect_uri: Option<&str>,
    ) -> Result<String, SimError> {
        let subject = self.grant_subject(client_id, subject)?;
        Ok(self.tokens.mint_code(client_id, subject, redirect_uri))
    }

    /// A never-expiring access token for `subject`, as the App Console's "Generate access token" button makes.
    pub(crate) fn generate_access_token(
        &mut self,
        client_id: &str,
        subject: &str,
    ) -> Result<String, SimError> {
        let subject = self.grant_subject(client_id, subject)?;
        Ok(self.tokens.generate(subject))
    }

    pub(crate) fn issued_tokens(&self) -> Vec<String> {
        self.tokens.issued()
    }

    pub(crate) fn exchange_code(
        &mut self,
        client: &ClientCredentials,
        code: &str,
        redirect_uri: Option<&str>,
        now_ms: u64,
    ) -> Result<TokenResponse, OAuthError> {
        let kind = self.authenticate_client(client)?;
        let issued = self
            .tokens
            .redeem_code(&client.client_id, code, redirect_uri, now_ms)?;
        Ok(self.token_response(kind, issued))
    }

    pub(crate) fn refresh(
        &mut self,
        client: &ClientCredentials,
        refresh_token: &str,
        now_ms: u64,
    ) -> Result<TokenResponse, OAuthError> {
        let kind = self.authenticate_client(client)?;
        let issued = self
            .tokens
            .refresh(&client.client_id, refresh_token, now_ms)?;
        Ok(self.token_response(kind, issued).bare())
    }

    pub(crate) fn expire_tokens(&mut self) {
        self.tokens.expire_all();
    }

    pub(crate) fn set_token_lifetime(&mut self, secs: u64) {
        self.tokens.set_lifetime(secs);
    }

    /// The account a user-level call (`files/*`, `users/*`) acts on: a user token's own, or the member a team
    /// token selects.
    pub(crate) fn user_account(
        &self,
        token: &str,
        select_user: Option<&str>,
        now_ms: u64,
    ) -> Result<String, ApiError> {
        match (self.tokens.authenticate(token, now_ms)?, select_user) {
            (Subject::Account(account_id), None) => Ok(account_id.clone()),
            (Subject::Account(_), Some(_)) => {
                Err(ApiError::bad_request(USER_TOKEN_WITH_SELECT_USER))
            }
            (Subject::Team(_), None) => Err(ApiError::bad_request(TEAM_TOKEN_WITHOUT_SELECT_USER)),
            (Subject::Team(team_id), Some(member)) => {
                if !member.starts_with("dbmid:") {
                    return Err(ApiError::bad_request("Invalid select user id format"));
                }
                self.members
                    .get(member)
                    .filter(|account_id| {
                        self.record(account_id)
                            .is_ok_and(|r| r.team.as_ref().is_some_and(|t| t.team_id == *team_id))
                    })
                    .cloned()
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "Member {member:?} was not found in this team"
                        ))
                    })
            }
        }
    }

    /// The team a `team/*` call acts on.
    pub(crate) fn team_of(&self, token: &str, now_ms: u64) -> Result<String, ApiError> {
        match self.tokens.authenticate(token, now_ms)? {
            Subject::Team(team_id) => Ok(team_id.clone()),
            Subject::Account(_) => Err(ApiError::bad_request(USER_TOKEN_FOR_TEAM_ROUTE)),
        }
    }

    /// Who may grant `client_id` access: an account (`dbid:`, or a member's `dbmid:`) for a user app, a team for a
    /// team app.
    fn grant_subject(&self, client_id: &str, subject: &str) -> Result<Subject, SimError> {
        let mismatch = || SimError::SubjectMismatch {
            client_id: client_id.to_owned(),
            subject: subject.to_owned(),
        };
        match self.app(client_id)?.kind {
            AppKind::User => {
                let account = self.account(subject).map_err(|_| mismatch())?;
                Ok(Subject::Account(account.account_id.clone()))
            }
            AppKind::Team if self.teams.contains_key(subject) => {
                Ok(Subject::Team(subject.to_owned()))
            }
            AppKind::Team => Err(mismatch()),
        }
    }

    fn authenticate_client(&self, client: &ClientCredentials) -> Result<AppKind, OAuthError> {
        match self.apps.get(&client.client_id) {
            Some(app) if app.client_secret == client.client_secret => Ok(app.kind),
            _ => Err(OAuthError::invalid_client()),
        }
    }

    fn token_response(&self, kind: AppKind, issued: Issued) -> TokenResponse {
        let (account_id, uid, team_id) = match &issued.subject {
            Subject::Account(id) => {
                let uid = self.account(id).ok().map(|account| account.uid.to_string());
                (Some(id.clone()), uid, None)
            }
            Subject::Team(id) => (None, None, Some(id.clone())),
        };
        let scope = match kind {
            AppKind::User => "account_info.read files.metadata.read",
            AppKind::Team => {
                "files.metadata.read files.team_metadata.read members.read team_data.member team_info.read"
            }
        };
        TokenResponse {
            access_token: issued.access_token,
            token_type: "bearer",
            expires_in: issued.expires_in,
            refresh_token: issued.refresh_token,
            scope: Some(scope),
            account_id,
            uid,
            team_id,
        }
    }
}

impl TokenResponse {
    /// A refresh answers just the new access token and its lifetime.
    fn bare(self) -> Self {
        Self {
            refresh_token: None,
            scope: None,
            account_id: None,
            uid: None,
            team_id: None,
            ..self
        }
    }
}
