//! The /instances handlers: validate, connect, seal, store in Kafka, then show (masked).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use pipeline::crypto::{Secret, is_sealed};
use pipeline::instances::{Instance, keys};
use rand::Rng;
use rdkafka::producer::FutureRecord;
use schemas::InstanceRecord;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::error::ApiError;
use super::{connect, validate, view};
use crate::AppState;

/// Instance ids count from this instant (2026-01-01T00:00:00Z), in milliseconds.
const ID_EPOCH_MS: i64 = 1_767_225_600_000;
/// Random low bits make ids unique across ingest copies without coordination.
const ID_RANDOM_BITS: u32 = 10;

type JsonBody = Result<Json<Value>, JsonRejection>;

pub async fn create(
    State(state): State<AppState>,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(|rejection| ApiError::invalid("body", rejection.body_text()))?;
    let new = validate::new_instance(&body)?;
    let connection = connect::connect(&state.dropbox, &state.sealer, &new).await?;
    let now = schemas::timestamp::format(OffsetDateTime::now_utc());
    let record = InstanceRecord {
        id: new_id(&state),
        name: new.name,
        element_key: new.element.as_str().to_owned(),
        tags: new.tags,
        configuration: seal_secrets(&state, new.configuration, &Map::new()),
        authentication: connection.authentication,
        accounts: connection.accounts,
        created_at: now.clone(),
        updated_at: now,
    };
    store(&state, &record).await?;
    tracing::info!(instance_id = record.id, element = %record.element_key, "Instance created.");
    Ok(Json(view::render(&record)))
}

pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let all: Vec<Value> = state
        .catalog
        .list()
        .iter()
        .map(|instance| view::render(&instance.record))
        .collect();
    Json(Value::Array(all))
}

pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    let instance = state.catalog.get(id).ok_or(ApiError::NotFound(id))?;
    Ok(Json(view::render(&instance.record)))
}

/// Changes the name, tags or configuration; a configuration key set to `null` is removed.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<u64>,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(|rejection| ApiError::invalid("body", rejection.body_text()))?;
    let body = body
        .as_object()
        .ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))?;
    let mut record = state
        .catalog
        .get(id)
        .ok_or(ApiError::NotFound(id))?
        .record
        .clone();
    if let Some(name) = validate::optional_string(body, "name")? {
        record.name = name;
    }
    if body.contains_key("tags") {
        record.tags = validate::tags(body)?;
    }
    if let Some(changes) = body.get("configuration") {
        let changes = changes
            .as_object()
            .ok_or_else(|| ApiError::invalid("configuration", "must be an object"))?;
        let mut configuration = record.configuration.clone();
        for (key, value) in changes {
            match value {
                Value::Null => configuration.remove(key),
                value => configuration.insert(key.clone(), value.clone()),
            };
        }
        validate::check_configuration(&configuration)?;
        record.configuration = seal_secrets(&state, configuration, &record.configuration);
    }
    record.updated_at = schemas::timestamp::format(OffsetDateTime::now_utc());
    store(&state, &record).await?;
    tracing::info!(instance_id = id, "Instance updated.");
    Ok(Json(view::render(&record)))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<Json<Value>, ApiError> {
    state.catalog.get(id).ok_or(ApiError::NotFound(id))?;
    let key = id.to_string();
    let tombstone = FutureRecord::<String, Vec<u8>>::to(&state.topics.instances).key(&key);
    state
        .producer
        .send(tombstone, state.produce_timeout)
        .await
        .map_err(|(error, _)| error)?;
    state.catalog.apply(id, None);
    tracing::info!(instance_id = id, "Instance deleted.");
    Ok(Json(json!({"id": id, "deleted": true})))
}

/// Seals secret values given in clear. A value sent back masked (as GET shows it) keeps the
/// sealed value of `previous`.
fn seal_secrets(
    state: &AppState,
    mut configuration: Map<String, Value>,
    previous: &Map<String, Value>,
) -> Map<String, Value> {
    for key in keys::SECRET_KEYS {
        let Some(Value::String(value)) = configuration.get(key) else {
            continue;
        };
        let sealed = if view::is_mask(value) {
            previous.get(key).cloned()
        } else if is_sealed(value) && previous.get(key).and_then(Value::as_str) == Some(value) {
            continue;
        } else {
            Some(json!(state.sealer.seal(&Secret::new(value.clone()))))
        };
        match sealed {
            Some(sealed) => configuration.insert(key.to_owned(), sealed),
            None => configuration.remove(key),
        };
    }
    configuration
}

/// Writes the record to the `instances` topic and, once Kafka has it, to this copy's catalog.
async fn store(state: &AppState, record: &InstanceRecord) -> Result<(), ApiError> {
    let key = record.id.to_string();
    let payload = serde_json::to_vec(record).expect("an instance record serializes");
    let message = FutureRecord::to(&state.topics.instances)
        .key(&key)
        .payload(&payload);
    state
        .producer
        .send(message, state.produce_timeout)
        .await
        .map_err(|(error, _)| error)?;
    match Instance::open(record.clone(), &state.sealer) {
        Ok(instance) => state.catalog.apply(record.id, Some(instance)),
        Err(error) => {
            tracing::error!(instance_id = record.id, %error, "A stored instance does not open.")
        }
    }
    Ok(())
}

/// A time-ordered id with random low bits, unique without coordination between ingest copies.
fn new_id(state: &AppState) -> u64 {
    loop {
        let millis = (pipeline::now_ms() - ID_EPOCH_MS).max(1) as u64;
        let id = (millis << ID_RANDOM_BITS) | rand::rng().random_range(0..1u64 << ID_RANDOM_BITS);
        if state.catalog.get(id).is_none() {
            return id;
        }
    }
}
