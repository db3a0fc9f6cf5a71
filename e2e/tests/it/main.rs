//! End-to-end tests: the three stages in-process, the Dropbox simulator and a callback receiver,
//! on the real Kafka broker (`KAFKA_BROKERS`, default 127.0.0.1:9092; `scripts/test.sh` starts it).

mod compose;
mod deliver_callbacks;
mod deliver_crash;
mod deploy;
mod harness;
mod ingest_shutdown;
mod ingest_webhooks;
mod instances_api;
mod normalize_crash;
mod normalize_events;
mod operations;
mod schemas_check;
mod whole_path;
