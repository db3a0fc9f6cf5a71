//! Axum handler for `POST /oauth2/token`: the authorization-code and refresh-token grants.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State as Sim};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::model::ApiCall;
use super::state::{ClientCredentials, State, TokenResponse};
use super::tokens::OAuthError;
use super::{DropboxSim, unix_ms};

/// Parameters may come form-encoded in the body or in the query string, as Dropbox accepts both.
pub(crate) async fn token(
    Sim(sim): Sim<DropboxSim>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = query.unwrap_or_default();
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .chain(url::form_urlencoded::parse(&body))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let client = client_credentials(&headers, &params);
    let now_ms = unix_ms();
    sim.with_state(|state| {
        let response = match grant(state, &client, &params, now_ms) {
            Ok(tokens) => Json(tokens).into_response(),
            Err(error) => {
                tracing::info!(client_id = %client.client_id, error = error.error, "token request refused");
                (StatusCode::BAD_REQUEST, Json(error)).into_response()
            }
        };
        let status = response.status().as_u16();
        state.record_call(ApiCall { route: "oauth2/token".into(), select_user: None, status });
        response
    })
}

fn grant(
    state: &mut State,
    client: &ClientCredentials,
    params: &HashMap<String, String>,
    now_ms: u64,
) -> Result<TokenResponse, OAuthError> {
    let param = |name: &str| params.get(name).map(String::as_str);
    match param("grant_type") {
        Some("authorization_code") => {
            let code = param("code")
                .ok_or_else(|| OAuthError::invalid_request("No auth code provided"))?;
            state.exchange_code(client, code, param("redirect_uri"), now_ms)
        }
        Some("refresh_token") => {
            let refresh_token = param("refresh_token")
                .ok_or_else(|| OAuthError::invalid_request("No refresh token provided"))?;
            state.refresh(client, refresh_token, now_ms)
        }
        Some(other) => Err(OAuthError::unsupported_grant_type(other)),
        None => Err(OAuthError::invalid_request("No grant_type provided")),
    }
}

/// HTTP Basic credentials win over `client_id`/`client_secret` parameters.
fn client_credentials(headers: &HeaderMap, params: &HashMap<String, String>) -> ClientCredentials {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            Some(ClientCredentials {
                client_id: id.to_owned(),
                client_secret: secret.to_owned(),
            })
        });
    basic.unwrap_or_else(|| ClientCredentials {
        client_id: params.get("client_id").cloned().unwrap_or_default(),
        client_secret: params.get("client_secret").cloned().unwrap_or_default(),
    })
}
