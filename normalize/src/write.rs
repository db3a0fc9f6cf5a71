//! What a committed batch writes, enqueued on the transactional producer: notifications to
//! `events`, state to `normalize.state`, put-off records to `normalize.retry`, team fan-out to
//! `webhooks.raw`, dead letters to `webhooks.dlq`; and the consumer offsets that commit with them.

use std::collections::BTreeMap;

use pipeline::kafka::{RECEIVED_AT_HEADER, Topics};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

use crate::retry::{ATTEMPT_HEADER, NOT_BEFORE_HEADER, not_before_header};
use crate::work::{Input, Outputs};

/// Enqueues every record of `outputs`; the futures resolve once Kafka has each.
pub fn enqueue(
    producer: &FutureProducer,
    topics: &Topics,
    outputs: &Outputs,
) -> Result<Vec<DeliveryFuture>, KafkaError> {
    let mut sends = Vec::new();
    for (instance_id, notification, received_at_ms) in &outputs.events {
        let payload = serde_json::to_vec(notification).expect("a notification serializes");
        let (key, received_at) = (instance_id.to_string(), received_at_ms.to_string());
        let headers = OwnedHeaders::new().insert(Header {
            key: RECEIVED_AT_HEADER,
            value: Some(&received_at),
        });
        let record = FutureRecord::to(&topics.events)
            .key(&key)
            .payload(&payload)
            .headers(headers);
        sends.push(producer.send_result(record).map_err(|(error, _)| error)?);
    }
    for (partition, key, state) in &outputs.state {
        let payload = serde_json::to_vec(state).expect("state serializes");
        // Same partition number as the raw records it follows: restored with them.
        let record = FutureRecord::to(&topics.normalize_state)
            .partition(*partition)
            .key(key)
            .payload(&payload);
        sends.push(producer.send_result(record).map_err(|(error, _)| error)?);
    }
    for (key, payload, attempt) in &outputs.retries {
        let attempt_text = attempt.to_string();
        let not_before = not_before_header(*attempt);
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: ATTEMPT_HEADER,
                value: Some(&attempt_text),
            })
            .insert(Header {
                key: NOT_BEFORE_HEADER,
                value: Some(&not_before),
            });
        let record = FutureRecord::to(&topics.normalize_retry)
            .key(key)
            .payload(payload)
            .headers(headers);
        sends.push(producer.send_result(record).map_err(|(error, _)| error)?);
    }
    for (key, payload) in &outputs.fan_out {
        let record = FutureRecord::to(&topics.webhooks_raw)
            .key(key)
            .payload(payload);
        sends.push(producer.send_result(record).map_err(|(error, _)| error)?);
    }
    for (key, value) in &outputs.dead_letters {
        let payload = serde_json::to_vec(value).expect("JSON serializes");
        let record = FutureRecord::to(&topics.webhooks_dlq)
            .key(key)
            .payload(&payload);
        sends.push(producer.send_result(record).map_err(|(error, _)| error)?);
    }
    Ok(sends)
}

/// The offsets to commit: one past the last record of each partition in the batch.
pub fn next_offsets(topic: &str, batch: &[Input]) -> Result<TopicPartitionList, KafkaError> {
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for input in batch {
        last.insert(input.partition, input.offset);
    }
    let mut offsets = TopicPartitionList::new();
    for (partition, offset) in last {
        offsets.add_partition_offset(topic, partition, Offset::Offset(offset + 1))?;
    }
    Ok(offsets)
}
