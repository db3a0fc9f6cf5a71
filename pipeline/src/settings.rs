//! Settings every stage shares. Each is a CLI flag with an environment fallback, shown by `--help`.

use std::time::Duration;

use clap::Args;

use crate::crypto::SecretsKey;
use crate::telemetry::LogFormat;

/// How to reach Kafka and name the topics.
#[derive(Debug, Clone, Args)]
pub struct KafkaSettings {
    /// Kafka bootstrap servers, comma-separated.
    #[arg(
        long = "kafka-brokers",
        env = "KAFKA_BROKERS",
        default_value = "127.0.0.1:9092"
    )]
    pub brokers: String,
    /// Prefix put before every topic name, to share one cluster between deployments.
    #[arg(long, env = "TOPIC_PREFIX", default_value = "")]
    pub topic_prefix: String,
    /// Partitions of the topics this project creates (existing topics are left as they are).
    #[arg(long, env = "TOPIC_PARTITIONS", default_value_t = 6)]
    pub topic_partitions: i32,
    /// Replication factor of the topics this project creates.
    #[arg(long, env = "TOPIC_REPLICATION", default_value_t = 1)]
    pub topic_replication: i32,
    /// Compression of produced batches: none, gzip, snappy, lz4 or zstd.
    #[arg(
        long = "kafka-compression",
        env = "KAFKA_COMPRESSION",
        default_value = "lz4"
    )]
    pub compression: String,
}

/// The key that seals secrets in the `instances` topic.
#[derive(Debug, Clone, Args)]
pub struct SecretsSettings {
    /// 32 random bytes, base64: encrypts secrets in the `instances` topic (e.g. `openssl rand -base64 32`).
    #[arg(long, env = "SECRETS_KEY", hide_env_values = true)]
    pub secrets_key: SecretsKey,
}

/// What every stage needs: Kafka, the secrets key, logging.
#[derive(Debug, Clone, Args)]
pub struct StageSettings {
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub secrets: SecretsSettings,
    #[command(flatten)]
    pub log: LogSettings,
}

/// How to reach Dropbox's API.
#[derive(Debug, Clone, Args)]
pub struct DropboxSettings {
    /// Base URL of Dropbox's API (the simulator's in tests and the demo).
    #[arg(
        long,
        env = "DROPBOX_API_URL",
        default_value = "https://api.dropboxapi.com"
    )]
    pub dropbox_api_url: String,
    /// Timeout of each call to Dropbox's API.
    #[arg(long, env = "DROPBOX_TIMEOUT", value_parser = parse_duration, default_value = "10s")]
    pub dropbox_timeout: Duration,
}

impl DropboxSettings {
    /// A client counting its calls in `calls` (`<stage>_dropbox_calls_total`).
    pub fn client(
        &self,
        calls: prometheus::IntCounterVec,
    ) -> reqwest::Result<crate::element::dropbox::api::DropboxApi> {
        let api = crate::element::dropbox::api::DropboxApi::new(
            &self.dropbox_api_url,
            self.dropbox_timeout,
        )?;
        Ok(api.counting_calls(calls))
    }
}

/// Logging.
#[derive(Debug, Clone, Args)]
pub struct LogSettings {
    /// Log format: `text` for people, `json` for log pipelines.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Parses durations like `500ms`, `5s`, `5m`, `2h`, `1d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 5s, 5m or 2h"))?;
    let unit_ms = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit (use ms, s, m, h or d)"
            ));
        }
    };
    Ok(Duration::from_millis(number * unit_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("m").is_err());
    }
}
