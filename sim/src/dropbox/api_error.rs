//! Dropbox's error answers: plain-text 400s, JSON bodies with `error_summary` and a tagged `error` otherwise.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ids;

/// An error answer of the RPC endpoints under `/2/`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ApiError {
    /// Dropbox answers malformed requests with a 400 and a plain-text explanation.
    #[error("{0}")]
    BadRequest(String),
    #[error("unknown API function")]
    UnknownRoute,
    #[error("invalid_access_token")]
    InvalidAccessToken,
    #[error("expired_access_token")]
    ExpiredAccessToken,
    /// A 409 whose error is just a tag, e.g. `reset` or `invalid_cursor`.
    #[error("{0}")]
    Conflict(&'static str),
    /// A 409 `path` error, e.g. `path/not_found`.
    #[error("path/{0}")]
    Path(&'static str),
    /// Fault injection: 429 answers like Dropbox's rate limiting, other statuses with a plain body.
    #[error("injected {status}")]
    Injected {
        status: u16,
        retry_after: Option<u64>,
    },
}

impl ApiError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    pub(crate) fn into_response(self, route: &str) -> Response {
        match self {
            Self::BadRequest(message) => plain(
                StatusCode::BAD_REQUEST,
                format!("Error in call to API function \"{route}\": {message}"),
            ),
            Self::UnknownRoute => plain(
                StatusCode::NOT_FOUND,
                format!("Unknown API function: \"{route}\""),
            ),
            Self::InvalidAccessToken => tagged(StatusCode::UNAUTHORIZED, "invalid_access_token"),
            Self::ExpiredAccessToken => tagged(StatusCode::UNAUTHORIZED, "expired_access_token"),
            Self::Conflict(tag) => tagged(StatusCode::CONFLICT, tag),
            Self::Path(tag) => error_json(
                StatusCode::CONFLICT,
                &format!("path/{tag}"),
                json!({".tag": "path", "path": {".tag": tag}}),
            ),
            Self::Injected {
                status: 429,
                retry_after,
            } => {
                let seconds = retry_after.unwrap_or(1);
                let error =
                    json!({"reason": {".tag": "too_many_requests"}, "retry_after": seconds});
                with_retry_after(
                    error_json(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", error),
                    Some(seconds),
                )
            }
            Self::Injected {
                status,
                retry_after,
            } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let reason = status.canonical_reason().unwrap_or("Error").to_owned();
                with_retry_after(plain(status, reason), retry_after)
            }
        }
    }
}

fn plain(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

fn tagged(status: StatusCode, tag: &str) -> Response {
    error_json(status, tag, json!({".tag": tag}))
}

fn error_json(status: StatusCode, summary: &str, error: Value) -> Response {
    let summary = format!("{summary}/{}", ids::summary_dots());
    (
        status,
        Json(json!({"error_summary": summary, "error": error})),
    )
        .into_response()
}

fn with_retry_after(mut response: Response, seconds: Option<u64>) -> Response {
    if let Some(seconds) = seconds {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
