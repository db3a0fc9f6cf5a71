//! What the three stages (`ingest`, `normalize`, `deliver`) share: Kafka clients and topics,
//! settings, the instance catalog, sealed secrets, the element seam (Dropbox), callback signing,
//! telemetry and shutdown. I/O lives here once, so each stage holds only its own logic.

pub mod crypto;
pub mod element;
pub mod instances;
pub mod kafka;
pub mod ops;
pub mod server;
pub mod settings;
pub mod shutdown;
pub mod signing;
pub mod stage;
pub mod telemetry;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// `2xx`, `4xx`… for an HTTP status code: the one label metrics use for answers.
pub fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

/// Why a stage could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("listening socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("a task of the stage failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}
