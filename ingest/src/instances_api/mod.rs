//! The operator's `/instances` API (SAP Open Connectors' body), behind `Authorization: Bearer`.
//! Instances are stored in the compacted `instances` topic; answers never show a secret.

mod connect;
mod error;
mod handlers;
mod validate;
mod view;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use subtle::ConstantTimeEq;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::AppState;
use error::ApiError;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/instances", get(handlers::list).post(handlers::create))
        .route(
            "/instances/{id}",
            get(handlers::get_one)
                .patch(handlers::update)
                .delete(handlers::delete),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), admin_only))
        .layer(RequestBodyTimeoutLayer::new(state.read_timeout))
}

/// Refuses requests without the admin bearer token (compared in constant time) and counts
/// every request by method and status class.
async fn admin_only(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let allowed = presented.is_some_and(|token| {
        bool::from(
            token
                .as_bytes()
                .ct_eq(state.admin_token.expose().as_bytes()),
        )
    });
    let response = if allowed {
        next.run(request).await
    } else {
        ApiError::Unauthorized.into_response()
    };
    let class = pipeline::status_class(response.status().as_u16());
    state
        .metrics
        .instance_requests
        .with_label_values(&[method.as_str(), class])
        .inc();
    response
}
