//! Axum handler for Dropbox's RPC endpoints under `/2/`: fault injection, auth, Select-User rules and dispatch.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State as Sim};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::api_error::ApiError;
use super::files::Namespace;
use super::listing::{self, ContinueArg, ListFolderArg};
use super::model::ApiCall;
use super::state::State;
use super::team::{self, MembersContinueArg, MembersListArg};
use super::{DropboxSim, team_info, unix_ms, users};

pub(crate) const SELECT_USER: &str = "dropbox-api-select-user";

#[derive(Clone, Copy, Debug)]
enum Endpoint {
    ListFolder,
    ListFolderContinue,
    GetLatestCursor,
    GetCurrentAccount,
    TeamGetInfo,
    MembersList,
    MembersListContinue,
}

impl Endpoint {
    fn from_route(route: &str) -> Option<Self> {
        Some(match route {
            "files/list_folder" => Self::ListFolder,
            "files/list_folder/continue" => Self::ListFolderContinue,
            "files/list_folder/get_latest_cursor" => Self::GetLatestCursor,
            "users/get_current_account" => Self::GetCurrentAccount,
            "team/get_info" => Self::TeamGetInfo,
            "team/members/list" => Self::MembersList,
            "team/members/list/continue" => Self::MembersListContinue,
            _ => return None,
        })
    }
}

/// `POST /2/{route}`: answers from the shared state and logs the call.
pub(crate) async fn rpc(
    Sim(sim): Sim<DropboxSim>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let select_user = header_str(&headers, SELECT_USER).map(str::to_owned);
    let now_ms = unix_ms();
    sim.with_state(|state| {
        let response = dispatch(state, &route, &headers, &body, now_ms)
            .unwrap_or_else(|error| error.into_response(&route));
        let status = response.status().as_u16();
        tracing::debug!(%route, status, select_user = select_user.as_deref(), "dropbox api call");
        state.record_call(ApiCall {
            route: route.clone(),
            select_user,
            status,
        });
        response
    })
}

fn dispatch(
    state: &mut State,
    route: &str,
    headers: &HeaderMap,
    body: &[u8],
    now_ms: u64,
) -> Result<Response, ApiError> {
    if let Some(fault) = state.take_fault() {
        tracing::info!(%route, ?fault, "answering with an injected failure");
        return Err(fault);
    }
    let endpoint = Endpoint::from_route(route).ok_or(ApiError::UnknownRoute)?;
    let token = bearer_token(headers)?;
    let select_user = header_str(headers, SELECT_USER);
    let page_size = state.page_size();
    let response = match endpoint {
        Endpoint::ListFolder => {
            let account = state.user_account(token, select_user, now_ms)?;
            let arg: ListFolderArg = json_arg(headers, body)?;
            Json(listing::list_folder(
                files(state, &account)?,
                &account,
                &arg,
                page_size,
            )?)
            .into_response()
        }
        Endpoint::ListFolderContinue => {
            let account = state.user_account(token, select_user, now_ms)?;
            let arg: ContinueArg = json_arg(headers, body)?;
            let files = files(state, &account)?;
            Json(listing::list_folder_continue(
                files,
                &account,
                &arg.cursor,
                page_size,
            )?)
            .into_response()
        }
        Endpoint::GetLatestCursor => {
            let account = state.user_account(token, select_user, now_ms)?;
            let arg: ListFolderArg = json_arg(headers, body)?;
            Json(listing::latest_cursor(
                files(state, &account)?,
                &account,
                &arg,
            )?)
            .into_response()
        }
        Endpoint::GetCurrentAccount => {
            let account = state.user_account(token, select_user, now_ms)?;
            void_arg(headers, body)?;
            // A live token always belongs to an existing account; answer like Dropbox for a deleted user otherwise.
            let full =
                users::current_account(state, &account).ok_or(ApiError::InvalidAccessToken)?;
            Json(full).into_response()
        }
        Endpoint::TeamGetInfo => {
            let team_id = state.team_of(token, now_ms)?;
            void_arg(headers, body)?;
            let info = team_info::get_info(state, &team_id).ok_or(ApiError::InvalidAccessToken)?;
            Json(info).into_response()
        }
        Endpoint::MembersList => {
            let team_id = state.team_of(token, now_ms)?;
            let arg: MembersListArg = json_arg(headers, body)?;
            Json(team::list(state, &team_id, &arg)?).into_response()
        }
        Endpoint::MembersListContinue => {
            let team_id = state.team_of(token, now_ms)?;
            let arg: MembersContinueArg = json_arg(headers, body)?;
            Json(team::list_continue(state, &team_id, &arg.cursor)?).into_response()
        }
    };
    Ok(response)
}

fn files<'a>(state: &'a State, account_id: &str) -> Result<&'a Namespace, ApiError> {
    // A live token always belongs to an existing account; answer like Dropbox for a deleted user otherwise.
    state.files(account_id).ok_or(ApiError::InvalidAccessToken)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = header_str(headers, header::AUTHORIZATION.as_str()).ok_or_else(|| {
        ApiError::bad_request(
            "Must provide HTTP header \"Authorization\" or URL parameter \"authorization\".",
        )
    })?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::bad_request(
            "Invalid authorization value in HTTP header \"Authorization\". Expecting \"Bearer <oauth2-access-token>\".",
        )),
    }
}

/// RPC arguments: a JSON body sent as `application/json` (or Dropbox's CORS workaround), as Dropbox insists.
fn json_arg<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    let content_type = header_str(headers, header::CONTENT_TYPE.as_str()).unwrap_or_default();
    let normalized = content_type.replace(' ', "").to_ascii_lowercase();
    let media_type = normalized.split(';').next().unwrap_or_default();
    if media_type != "application/json" && normalized != "text/plain;charset=dropbox-cors-hack" {
        return Err(ApiError::bad_request(format!(
            "Bad HTTP \"Content-Type\" header: {content_type:?}.  Expecting one of \"application/json\", \
             \"application/json; charset=utf-8\", \"text/plain; charset=dropbox-cors-hack\"."
        )));
    }
    serde_json::from_slice(body).map_err(|error| {
        ApiError::bad_request(format!(
            "request body: could not decode input as JSON: {error}"
        ))
    })
}

/// The argument of a route that takes none: no body and no `Content-Type`, or JSON `null` (Dropbox decodes
/// strictly, so `{}` is refused).
fn void_arg(headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    if body.is_empty() && !headers.contains_key(header::CONTENT_TYPE) {
        return Ok(());
    }
    match json_arg(headers, body)? {
        Value::Null => Ok(()),
        _ => Err(ApiError::bad_request(
            "request body: expected null, got value",
        )),
    }
}
