//! `deliver replay`: puts parked events back on `events`, so they are delivered afresh (with a
//! new retry schedule) once their endpoint has recovered. Receivers de-duplicate by `webhook-id`.

use std::time::Duration;

use futures::future::try_join_all;
use pipeline::StageError;
use pipeline::kafka::{AtEnd, Partitions, Topics, read_compacted};
use rdkafka::producer::FutureRecord;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use crate::Settings;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Parked {
    instance_id: u64,
    notification: Option<Box<RawValue>>,
}

/// What a replay did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    pub parked: usize,
    pub replayed: usize,
}

/// Replays every event parked in `events.dlq` up to now (of `instance` only, when given).
pub async fn replay(
    settings: &Settings,
    instance: Option<u64>,
) -> Result<ReplayReport, StageError> {
    let kafka = &settings.common.kafka;
    let topics = Topics::new(&kafka.topic_prefix);
    let mut parked = Vec::new();
    read_compacted(
        kafka,
        &topics.events_dlq,
        Partitions::All,
        AtEnd::Stop,
        |_, _, value| parked.extend(value.and_then(|v| serde_json::from_slice::<Parked>(v).ok())),
        || {},
        &CancellationToken::new(),
    )
    .await?;
    let chosen: Vec<(u64, Box<RawValue>)> = parked
        .iter()
        .filter(|p| instance.is_none_or(|id| id == p.instance_id))
        .filter_map(|p| Some((p.instance_id, p.notification.clone()?)))
        .collect();
    eprintln!("{} parked events, {} to replay", parked.len(), chosen.len());
    let producer = pipeline::kafka::producer(kafka, 30_000)?;
    for (done, chunk) in chosen.chunks(100).enumerate() {
        let sends = chunk.iter().map(|(instance_id, notification)| {
            let key = instance_id.to_string();
            let producer = producer.clone();
            let topic = topics.events.clone();
            async move {
                let record = FutureRecord::to(&topic)
                    .key(&key)
                    .payload(notification.get());
                producer
                    .send(record, Duration::from_secs(30))
                    .await
                    .map_err(|(error, _)| error)
            }
        });
        try_join_all(sends).await?;
        eprintln!("replayed {}/{}", (done * 100 + chunk.len()), chosen.len());
    }
    Ok(ReplayReport {
        parked: parked.len(),
        replayed: chosen.len(),
    })
}
