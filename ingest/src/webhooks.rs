//! Dropbox webhooks: the verification challenge, and notifications written to `webhooks.raw`
//! before they are answered. Nothing is written for a request that is refused.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::future::try_join_all;
use http_body_util::LengthLimitError;
use pipeline::element::{AccountRef, ElementKey};
use pipeline::now_ms;
use rdkafka::producer::FutureRecord;
use schemas::RawEnvelope;

use crate::AppState;

/// Dropbox's endpoint check: echo the challenge as plain text.
pub async fn challenge(
    Path(element_key): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if ElementKey::parse(&element_key).is_none() {
        return (StatusCode::NOT_FOUND, "unknown element\n").into_response();
    }
    let Some(challenge) = query.get("challenge") else {
        return (StatusCode::BAD_REQUEST, "missing challenge parameter\n").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, "text/plain"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        challenge.clone(),
    )
        .into_response()
}

/// Reads the whole body within `timeout` and `max_bytes`.
async fn read_body(body: Body, max_bytes: usize, timeout: Duration) -> Result<Bytes, Outcome> {
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, max_bytes)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => match error.into_inner().is::<LengthLimitError>() {
            true => Err(Outcome::TooLarge),
            false => Err(Outcome::Malformed),
        },
        Err(_) => Err(Outcome::SlowClient),
    }
}

/// How a notification was answered; also its metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Accepted,
    UnknownElement,
    TooLarge,
    SlowClient,
    NotReady,
    BadSignature,
    Malformed,
    KafkaUnavailable,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::UnknownElement => "unknown_element",
            Outcome::TooLarge => "too_large",
            Outcome::SlowClient => "slow_client",
            Outcome::NotReady => "not_ready",
            Outcome::BadSignature => "bad_signature",
            Outcome::Malformed => "malformed",
            Outcome::KafkaUnavailable => "kafka_unavailable",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Outcome::Accepted => StatusCode::OK,
            Outcome::UnknownElement => StatusCode::NOT_FOUND,
            Outcome::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Outcome::SlowClient => StatusCode::REQUEST_TIMEOUT,
            Outcome::BadSignature => StatusCode::FORBIDDEN,
            Outcome::Malformed => StatusCode::BAD_REQUEST,
            // Dropbox retries non-200 answers for about ten minutes.
            Outcome::NotReady | Outcome::KafkaUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

pub async fn notification(
    State(state): State<AppState>,
    Path(element_key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ingest_id = uuid::Uuid::now_v7().to_string();
    let outcome = accept(&state, &element_key, &headers, body, &ingest_id).await;
    state
        .metrics
        .webhooks
        .with_label_values(&[outcome.label()])
        .inc();
    match outcome {
        Outcome::Accepted => {
            tracing::info!(%ingest_id, element = %element_key, "Webhook accepted.")
        }
        _ => {
            tracing::warn!(%ingest_id, element = %element_key, outcome = outcome.label(), "Webhook refused.")
        }
    }
    let status = outcome.status();
    (status, status.canonical_reason().unwrap_or_default()).into_response()
}

async fn accept(
    state: &AppState,
    element_key: &str,
    headers: &HeaderMap,
    body: Body,
    ingest_id: &str,
) -> Outcome {
    let Some(element) = ElementKey::parse(element_key) else {
        return Outcome::UnknownElement;
    };
    let body = match read_body(body, state.max_body_bytes, state.read_timeout).await {
        Ok(body) => body,
        Err(outcome) => return outcome,
    };
    // Until every instance is loaded an app secret may be missing: let Dropbox retry.
    if !state.catalog.is_caught_up() {
        return Outcome::NotReady;
    }
    let verified = state.catalog.with_app_secrets(element, |secrets| {
        element.verify_webhook(secrets, headers, &body)
    });
    if !verified {
        return Outcome::BadSignature;
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return Outcome::Malformed;
    };
    let accounts = match element.webhook_accounts(&body) {
        Ok(accounts) => accounts,
        Err(_) => return Outcome::Malformed,
    };
    let unknown = accounts
        .iter()
        .filter(|account| !state.catalog.has_account(element, &account.account))
        .count();
    state.metrics.unknown_accounts.inc_by(unknown as u64);

    let received_at_ms = now_ms();
    let received_at = schemas::timestamp::format(time::OffsetDateTime::now_utc());
    let envelope = |account: &AccountRef| RawEnvelope {
        ingest_id: ingest_id.to_owned(),
        element_key: element.as_str().to_owned(),
        received_at: received_at.clone(),
        received_at_ms,
        account: account.account.clone(),
        team: account.team.clone(),
        signature: element
            .signature_header(headers)
            .unwrap_or_default()
            .to_owned(),
        body: text.to_owned(),
    };
    let started = Instant::now();
    // The sends borrow the state: they are all awaited before this returns.
    let sends = accounts.iter().map(|account| {
        let payload = serde_json::to_vec(&envelope(account)).expect("an envelope serializes");
        async move {
            let record = FutureRecord::to(&state.topics.webhooks_raw)
                .key(&account.account)
                .payload(&payload);
            state
                .producer
                .send(record, state.produce_timeout)
                .await
                .map_err(|(error, _)| error)
        }
    });
    match try_join_all(sends).await {
        Ok(_) => {
            state
                .metrics
                .produce_seconds
                .observe(started.elapsed().as_secs_f64());
            state.metrics.records_produced.inc_by(accounts.len() as u64);
            Outcome::Accepted
        }
        Err(error) => {
            tracing::error!(%ingest_id, %error, "Kafka did not acknowledge a webhook.");
            Outcome::KafkaUnavailable
        }
    }
}
