//! Topic names (with the deployment's prefix) and their creation with the right cleanup policy.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::settings::KafkaSettings;

const DAY_MS: u64 = 86_400_000;

/// The project's topic names, each with the configured prefix.
#[derive(Debug, Clone)]
pub struct Topics {
    prefix: String,
    pub webhooks_raw: String,
    pub webhooks_dlq: String,
    pub instances: String,
    pub events: String,
    pub events_dlq: String,
    pub normalize_state: String,
    /// Raw records normalize put off because Dropbox kept failing, with when to try again.
    pub normalize_retry: String,
}

impl Topics {
    pub fn new(prefix: &str) -> Self {
        let name = |base: &str| format!("{prefix}{base}");
        Self {
            prefix: prefix.to_owned(),
            webhooks_raw: name("webhooks.raw"),
            webhooks_dlq: name("webhooks.dlq"),
            instances: name("instances"),
            events: name("events"),
            events_dlq: name("events.dlq"),
            normalize_state: name("normalize.state"),
            normalize_retry: name("normalize.retry"),
        }
    }

    /// The prefix every topic name starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Retry tier `tier` (1-based) of deliver: events waiting for their `tier`-th retry.
    pub fn delivery_retry(&self, tier: usize) -> String {
        format!("{}events.retry.{tier}", self.prefix)
    }

    /// Every topic with its cleanup policy: the design's table, plus the internal state topics.
    fn specs(&self) -> Vec<(&str, Vec<(&'static str, String)>)> {
        let delete = delete_after;
        let compact = || {
            vec![
                ("cleanup.policy", "compact".to_owned()),
                ("min.compaction.lag.ms", "60000".to_owned()),
            ]
        };
        vec![
            (self.webhooks_raw.as_str(), delete(7)),
            (self.webhooks_dlq.as_str(), delete(30)),
            (self.instances.as_str(), compact()),
            (self.events.as_str(), delete(7)),
            (self.events_dlq.as_str(), delete(30)),
            (self.normalize_state.as_str(), compact()),
            (self.normalize_retry.as_str(), delete(7)),
        ]
    }
}

/// Creates deliver's retry tiers `1..=tiers` (7 days' retention) that do not exist yet.
pub async fn ensure_retry_topics(
    settings: &KafkaSettings,
    topics: &Topics,
    tiers: usize,
) -> Result<(), KafkaError> {
    let names: Vec<String> = (1..=tiers)
        .map(|tier| topics.delivery_retry(tier))
        .collect();
    let specs = names
        .iter()
        .map(|name| (name.as_str(), delete_after(7)))
        .collect();
    create(settings, specs).await
}

/// Deletes every topic named with this deployment's prefix (tests and benchmarks clean up so).
pub async fn delete_prefixed_topics(settings: &KafkaSettings) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &settings.brokers)
        .create()?;
    let metadata = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))?;
    let names: Vec<&str> = metadata
        .topics()
        .iter()
        .map(|topic| topic.name())
        .filter(|name| {
            !settings.topic_prefix.is_empty() && name.starts_with(&settings.topic_prefix)
        })
        .collect();
    if !names.is_empty() {
        admin.delete_topics(&names, &AdminOptions::new()).await?;
    }
    Ok(())
}

/// Creates every topic that does not exist yet; existing topics are left unchanged.
pub async fn ensure_topics(settings: &KafkaSettings, topics: &Topics) -> Result<(), KafkaError> {
    create(settings, topics.specs()).await
}

fn delete_after(days: u64) -> Vec<(&'static str, String)> {
    vec![
        ("cleanup.policy", "delete".to_owned()),
        ("retention.ms", (days * DAY_MS).to_string()),
    ]
}

async fn create(
    settings: &KafkaSettings,
    specs: Vec<(&str, Vec<(&'static str, String)>)>,
) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &settings.brokers)
        .create()?;
    let new_topics: Vec<NewTopic<'_>> = specs
        .iter()
        .map(|(name, config)| {
            config.iter().fold(
                NewTopic::new(
                    name,
                    settings.topic_partitions,
                    TopicReplication::Fixed(settings.topic_replication),
                ),
                |topic, (key, value)| topic.set(key, value),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(name) => tracing::info!(topic = %name, "Created topic."),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(KafkaError::AdminOp(code)).inspect_err(
                    |_| tracing::error!(topic = %name, error = %code, "Could not create topic."),
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_take_the_prefix() {
        let topics = Topics::new("t1.");
        assert_eq!(topics.webhooks_raw, "t1.webhooks.raw");
        assert_eq!(topics.events_dlq, "t1.events.dlq");
    }

    #[test]
    fn state_topics_are_compacted_and_the_rest_deleted() {
        let topics = Topics::new("");
        let policy = |name: &str| {
            topics
                .specs()
                .into_iter()
                .find(|(topic, _)| *topic == name)
                .and_then(|(_, config)| {
                    config
                        .into_iter()
                        .find(|(key, _)| *key == "cleanup.policy")
                        .map(|(_, value)| value)
                })
                .unwrap()
        };
        assert_eq!(policy("instances"), "compact");
        assert_eq!(policy("normalize.state"), "compact");
        assert_eq!(policy("webhooks.raw"), "delete");
        assert_eq!(policy("events"), "delete");
    }
}
