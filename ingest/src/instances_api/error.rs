//! Errors of the /instances API and the answers they become. Internal details are logged, not
//! returned.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pipeline::element::dropbox::api::DropboxError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or wrong bearer token")]
    Unauthorized,
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("no instance with id {0}")]
    NotFound(u64),
    #[error("Dropbox refused to connect the instance: {0}")]
    ConnectRefused(String),
    #[error("Dropbox could not be asked: {0}")]
    DropboxUnavailable(DropboxError),
    #[error("the instance could not be stored")]
    Storage(#[from] rdkafka::error::KafkaError),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<DropboxError> for ApiError {
    fn from(error: DropboxError) -> Self {
        match error {
            DropboxError::InvalidGrant(reason) => ApiError::ConnectRefused(reason),
            DropboxError::Api { status, summary } if status < 500 => {
                ApiError::ConnectRefused(format!("{status} {summary}"))
            }
            other => ApiError::DropboxUnavailable(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Invalid { .. } | ApiError::ConnectRefused(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::DropboxUnavailable(_) => StatusCode::BAD_GATEWAY,
            ApiError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "An /instances request failed.");
        }
        let field = match &self {
            ApiError::Invalid { field, .. } => Some(field.as_str()),
            ApiError::ConnectRefused(_) => Some("providerData.code"),
            _ => None,
        };
        let body = json!({"error": status.canonical_reason(), "message": self.to_string(), "field": field});
        (status, Json(body)).into_response()
    }
}
