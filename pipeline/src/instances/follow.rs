//! Keeps the catalog current from the compacted `instances` topic.

use std::sync::Arc;

use rdkafka::error::KafkaError;
use tokio_util::sync::CancellationToken;

use super::{Instance, InstanceCatalog};
use crate::crypto::Sealer;
use crate::kafka::{AtEnd, Partitions, read_compacted};
use crate::ops::Readiness;
use crate::settings::KafkaSettings;

/// The readiness condition the catalog holds until it has caught up.
pub const READINESS: &str = "instances";

/// Loads every instance into `catalog`, marks it caught up (and `readiness` ready) once the topic
/// has been read to its end, then applies changes as they come until `shutdown`.
pub async fn follow(
    settings: &KafkaSettings,
    topic: &str,
    sealer: Sealer,
    catalog: Arc<InstanceCatalog>,
    readiness: Readiness,
    shutdown: CancellationToken,
) -> Result<(), KafkaError> {
    readiness.waiting(READINESS, "loading the instances topic");
    let apply = |_, key: &[u8], value: Option<&[u8]>| apply(&catalog, &sealer, key, value);
    let caught_up = || {
        catalog.set_caught_up();
        readiness.ready(READINESS);
        tracing::info!(instances = catalog.list().len(), "Instances loaded.");
    };
    read_compacted(
        settings,
        topic,
        Partitions::All,
        AtEnd::Follow,
        apply,
        caught_up,
        &shutdown,
    )
    .await
}

/// Applies one record; a record that cannot be read is logged and skipped, never fatal.
fn apply(catalog: &InstanceCatalog, sealer: &Sealer, key: &[u8], value: Option<&[u8]>) {
    let Some(id) = std::str::from_utf8(key)
        .ok()
        .and_then(|key| key.parse::<u64>().ok())
    else {
        tracing::warn!("Skipping an instance record without a numeric key.");
        return;
    };
    let Some(value) = value else {
        catalog.apply(id, None);
        return;
    };
    let instance = serde_json::from_slice(value)
        .map_err(|error| error.to_string())
        .and_then(|record| Instance::open(record, sealer).map_err(|error| error.to_string()));
    match instance {
        Ok(instance) => catalog.apply(id, Some(instance)),
        Err(error) => {
            tracing::error!(instance_id = id, %error, "Skipping an unreadable instance record.")
        }
    }
}
