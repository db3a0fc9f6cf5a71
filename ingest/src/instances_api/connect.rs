//! Connecting a new instance to Dropbox: exchange the authorization code, find the accounts it
//! reaches, and take each account's change cursor before the instance is answered, so that every
//! change after the answer is reported.

use pipeline::crypto::{Sealer, Secret};
use pipeline::element::dropbox::api::{AppCredentials, DropboxApi, TokenGrant};
use pipeline::instances::keys;
use schemas::{Authentication, AuthenticationType, ConnectedAccount};
use time::OffsetDateTime;

use super::error::ApiError;
use super::validate::NewInstance;

/// What connecting produced: the credentials (sealed) and the accounts with their first cursors.
pub struct Connection {
    pub authentication: Authentication,
    pub accounts: Vec<ConnectedAccount>,
}

pub async fn connect(
    dropbox: &DropboxApi,
    sealer: &Sealer,
    new: &NewInstance,
) -> Result<Connection, ApiError> {
    let config = |key: &str| new.configuration.get(key).and_then(|v| v.as_str());
    let grant = match new.authentication {
        AuthenticationType::OAuth2 => {
            let client_secret = Secret::new(config(keys::APP_SECRET).unwrap_or_default());
            let app = AppCredentials {
                client_id: config(keys::APP_KEY).unwrap_or_default(),
                client_secret: &client_secret,
            };
            let code = new.code.as_deref().unwrap_or_default();
            dropbox
                .exchange_code(&app, code, config(keys::OAUTH_CALLBACK_URL))
                .await?
        }
        AuthenticationType::ApiKey => {
            api_key_grant(dropbox, new, config(keys::USER_TOKEN).unwrap_or_default()).await?
        }
    };
    let token = Secret::new(grant.access_token.clone());
    let accounts = if new.element.is_team() {
        let team_id = grant.team_id.as_deref().ok_or_else(|| {
            ApiError::ConnectRefused("Dropbox granted no team_id: is this a team app?".into())
        })?;
        tracing::info!(%team_id, "Connecting a team.");
        let mut accounts = Vec::new();
        for member in dropbox.team_members(&token).await? {
            let cursor = dropbox
                .latest_cursor(&token, Some(&member.team_member_id))
                .await?;
            accounts.push(ConnectedAccount {
                id: member.team_member_id,
                initial_cursor: cursor,
            });
        }
        accounts
    } else {
        let account_id = grant.account_id.clone().ok_or_else(|| {
            ApiError::ConnectRefused("Dropbox granted no account_id: is this a user app?".into())
        })?;
        let cursor = dropbox.latest_cursor(&token, None).await?;
        vec![ConnectedAccount {
            id: account_id,
            initial_cursor: cursor,
        }]
    };
    let expires_at = grant.expires_in.map(|seconds| {
        schemas::timestamp::format(
            OffsetDateTime::now_utc() + time::Duration::seconds(seconds as i64),
        )
    });
    let authentication = Authentication {
        kind: new.authentication,
        access_token: sealer.seal(&token),
        refresh_token: grant.refresh_token.map(|t| sealer.seal(&Secret::new(t))),
        expires_at,
        account_id: grant.account_id,
        team_id: grant.team_id,
    };
    Ok(Connection {
        authentication,
        accounts,
    })
}

/// With `apiKey` the token is given; ask Dropbox whose it is.
async fn api_key_grant(
    dropbox: &DropboxApi,
    new: &NewInstance,
    token: &str,
) -> Result<TokenGrant, ApiError> {
    let secret = Secret::new(token);
    let (account_id, team_id) = if new.element.is_team() {
        (None, Some(dropbox.team_id(&secret).await?))
    } else {
        (Some(dropbox.current_account(&secret).await?), None)
    };
    Ok(TokenGrant {
        access_token: token.to_owned(),
        expires_in: None,
        refresh_token: None,
        account_id,
        team_id,
    })
}
