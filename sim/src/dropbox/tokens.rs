//! OAuth grants: one-time authorization codes, long-lived refresh tokens, access tokens that expire, and the
//! App Console's generated access tokens that don't.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::api_error::ApiError;
use super::ids;

/// Who authorized an app: a user (for user apps) or a whole team (for team apps).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Subject {
    Account(String),
    Team(String),
}

/// The body of a failed `/oauth2/token` call (always a 400).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct OAuthError {
    pub error: &'static str,
    pub error_description: String,
}

impl OAuthError {
    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self {
            error: "invalid_grant",
            error_description: description.into(),
        }
    }

    pub(crate) fn invalid_client() -> Self {
        Self {
            error: "invalid_client",
            error_description: "Invalid client_id or client_secret".into(),
        }
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self {
            error: "invalid_request",
            error_description: description.into(),
        }
    }

    pub(crate) fn unsupported_grant_type(grant_type: &str) -> Self {
        Self {
            error: "unsupported_grant_type",
            error_description: format!("\"{grant_type}\" is not a supported grant type"),
        }
    }
}

/// A freshly issued access token (and, for a code exchange, a refresh token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: Option<String>,
    pub subject: Subject,
}

#[derive(Debug, Serialize, Deserialize)]
struct Code {
    client_id: String,
    subject: Subject,
    redirect_uri: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Grant {
    client_id: String,
    subject: Subject,
}

#[derive(Debug, Serialize, Deserialize)]
struct Access {
    subject: Subject,
    expires_at_ms: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Tokens {
    codes: HashMap<String, Code>,
    refresh: HashMap<String, Grant>,
    /// Expired tokens stay here so they answer `expired_access_token` rather than `invalid_access_token`.
    access: HashMap<String, Access>,
    lifetime_secs: u64,
}

pub(crate) const DEFAULT_LIFETIME_SECS: u64 = 14_400;

impl Tokens {
    pub(crate) fn new() -> Self {
        Self {
            codes: HashMap::new(),
            refresh: HashMap::new(),
            access: HashMap::new(),
            lifetime_secs: DEFAULT_LIFETIME_SECS,
        }
    }

    pub(crate) fn set_lifetime(&mut self, secs: u64) {
        self.lifetime_secs = secs;
    }

    pub(crate) fn mint_code(
        &mut self,
        client_id: &str,
        subject: Subject,
        redirect_uri: Option<&str>,
    ) -> String {
        let code = ids::authorization_code();
        let redirect_uri = redirect_uri.map(str::to_owned);
        self.codes.insert(
            code.clone(),
            Code {
                client_id: client_id.to_owned(),
                subject,
                redirect_uri,
            },
        );
        code
    }

    /// Exchanges a code for tokens. A code works once, for the client it was minted for, and with the same
    /// `redirect_uri` if it was minted with one.
    pub(crate) fn redeem_code(
        &mut self,
        client_id: &str,
        code: &str,
        redirect_uri: Option<&str>,
        now_ms: u64,
    ) -> Result<Issued, OAuthError> {
        let grant = self
            .codes
            .get(code)
            .filter(|grant| grant.client_id == client_id)
            .ok_or_else(|| OAuthError::invalid_grant("code doesn't exist or has expired"))?;
        if grant
            .redirect_uri
            .as_deref()
            .is_some_and(|expected| Some(expected) != redirect_uri)
        {
            return Err(OAuthError::invalid_grant("redirect_uri mismatch"));
        }
        let subject = grant.subject.clone();
        self.codes.remove(code);
        let refresh_token = ids::refresh_token();
        let grant = Grant {
            client_id: client_id.to_owned(),
            subject: subject.clone(),
        };
        self.refresh.insert(refresh_token.clone(), grant);
        Ok(Issued {
            refresh_token: Some(refresh_token),
            ..self.issue(subject, now_ms)
        })
    }

    /// A new access token for a refresh token, which stays valid.
    pub(crate) fn refresh(
        &mut self,
        client_id: &str,
        refresh_token: &str,
        now_ms: u64,
    ) -> Result<Issued, OAuthError> {
        let subject = self
            .refresh
            .get(refresh_token)
            .filter(|grant| grant.client_id == client_id)
            .map(|grant| grant.subject.clone())
            .ok_or_else(|| {
                OAuthError::invalid_grant("refresh token is malformed or has been revoked")
            })?;
        Ok(self.issue(subject, now_ms))
    }

    pub(crate) fn authenticate(&self, token: &str, now_ms: u64) -> Result<&Subject, ApiError> {
        let access = self.access.get(token).ok_or(ApiError::InvalidAccessToken)?;
        if now_ms >= access.expires_at_ms {
            return Err(ApiError::ExpiredAccessToken);
        }
        Ok(&access.subject)
    }

    /// An access token that never expires by itself and comes without a refresh token, as the App Console's
    /// "Generate access token" button makes.
    pub(crate) fn generate(&mut self, subject: Subject) -> String {
        let access_token = ids::long_lived_token();
        let access = Access {
            subject,
            expires_at_ms: u64::MAX,
        };
        self.access.insert(access_token.clone(), access);
        access_token
    }

    /// Every access and refresh token issued so far, expired ones included, sorted.
    pub(crate) fn issued(&self) -> Vec<String> {
        let mut tokens: Vec<String> = self
            .access
            .keys()
            .chain(self.refresh.keys())
            .cloned()
            .collect();
        tokens.sort();
        tokens
    }

    /// Every access token issued so far expires now; refresh tokens keep working.
    pub(crate) fn expire_all(&mut self) {
        self.access
            .values_mut()
            .for_each(|access| access.expires_at_ms = 0);
    }

    fn issue(&mut self, subject: Subject, now_ms: u64) -> Issued {
        let access_token = ids::access_token();
        let expires_at_ms = now_ms.saturating_add(self.lifetime_secs.saturating_mul(1000));
        self.access.insert(
            access_token.clone(),
            Access {
                subject: subject.clone(),
                expires_at_ms,
            },
        );
        Issued {
            access_token,
            expires_in: self.lifetime_secs,
            refresh_token: None,
            subject,
        }
    }
}
