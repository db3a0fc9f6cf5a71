//! What the benchmarks share: a Kafka prefix of their own, an in-process ingest against the
//! Dropbox simulator, and connected instances.

use clap::Parser;
use sim::DropboxSim;
use tokio_util::sync::CancellationToken;

pub const ADMIN_TOKEN: &str = "bench-admin";
pub const SECRETS_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

pub fn brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// A topic prefix no other run uses.
pub fn prefix() -> String {
    format!("bench{}.", uuid::Uuid::new_v4().simple())
}

/// The Kafka settings of a benchmark's own topics.
pub fn kafka_settings(prefix: &str) -> pipeline::settings::KafkaSettings {
    pipeline::settings::KafkaSettings {
        brokers: brokers(),
        topic_prefix: prefix.to_owned(),
        topic_partitions: 6,
        topic_replication: 1,
        compression: "lz4".into(),
    }
}

/// Deletes the benchmark's topics, so runs do not pile up on a development broker.
pub async fn clean_up(prefix: &str) -> anyhow::Result<()> {
    pipeline::kafka::delete_prefixed_topics(&kafka_settings(prefix)).await?;
    Ok(())
}

/// Flags every stage takes in a benchmark.
pub fn common_args(name: &str, prefix: &str) -> Vec<String> {
    vec![
        name.to_owned(),
        "--metrics-listen=127.0.0.1:0".into(),
        format!("--kafka-brokers={}", brokers()),
        format!("--topic-prefix={prefix}"),
        format!("--secrets-key={SECRETS_KEY}"),
    ]
}

/// What most benchmarks start with: their own topics, the Dropbox simulator, ingest in this
/// process, and one user app.
pub struct Stack {
    pub prefix: String,
    pub kafka: pipeline::settings::KafkaSettings,
    pub topics: pipeline::kafka::Topics,
    pub dropbox: DropboxSim,
    pub dropbox_url: String,
    pub ingest_url: String,
    pub app: sim::App,
    pub shutdown: CancellationToken,
}

impl Stack {
    pub async fn start() -> anyhow::Result<Self> {
        let prefix = prefix();
        let kafka = kafka_settings(&prefix);
        let topics = pipeline::kafka::Topics::new(&prefix);
        pipeline::kafka::ensure_topics(&kafka, &topics).await?;
        let dropbox = DropboxSim::new();
        let dropbox_url = format!("http://{}", dropbox.spawn().await?);
        let shutdown = CancellationToken::new();
        let ingest_url = spawn_ingest(&dropbox_url, &prefix, &shutdown).await?;
        let app = dropbox.create_app(sim::AppKind::User, None);
        Ok(Self {
            prefix,
            kafka,
            topics,
            dropbox,
            dropbox_url,
            ingest_url,
            app,
            shutdown,
        })
    }

    /// Connects a new account of the app with an instance calling `callback_url`.
    pub async fn connect(&self, callback_url: &str) -> anyhow::Result<(String, u64)> {
        let account = self.dropbox.create_account().account_id;
        let instance = connect_instance(
            &self.ingest_url,
            &self.dropbox,
            &self.app,
            &account,
            callback_url,
        )
        .await?;
        Ok((account, instance))
    }

    /// Stops ingest and deletes the benchmark's topics.
    pub async fn finish(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        clean_up(&self.prefix).await
    }
}

/// Starts ingest in this process; returns its URL once it is ready.
pub async fn spawn_ingest(
    dropbox_url: &str,
    prefix: &str,
    shutdown: &CancellationToken,
) -> anyhow::Result<String> {
    let settings =
        ingest::Settings::try_parse_from(common_args("ingest", prefix).into_iter().chain([
            "--listen=127.0.0.1:0".into(),
            format!("--admin-token={ADMIN_TOKEN}"),
            format!("--dropbox-api-url={dropbox_url}"),
        ]))?;
    let ingest = ingest::Ingest::build(settings).await?;
    let url = format!("http://{}", ingest.local_addr());
    let ops = format!("http://{}/readyz", ingest.ops_addr());
    tokio::spawn(ingest.run(shutdown.clone()));
    while !reqwest::get(&ops)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(url)
}

/// Creates an instance of `app` connected to `account`, events on to `callback_url`; its id.
pub async fn connect_instance(
    ingest_url: &str,
    dropbox: &DropboxSim,
    app: &sim::App,
    account: &str,
    callback_url: &str,
) -> anyhow::Result<u64> {
    let code = dropbox.authorization_code(&app.client_id, account, None);
    let body = serde_json::json!({
        "element": {"key": "dropbox"}, "providerData": {"code": code},
        "configuration": {"oauth.api.key": app.client_id, "oauth.api.secret": app.client_secret,
            "event.notification.enabled": true,
            "event.notification.callback.url": callback_url,
            "event.notification.signature.key": "bench-key"},
        "name": "bench"});
    let response = reqwest::Client::new()
        .post(format!("{ingest_url}/instances"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "creating the instance: {body}");
    body["id"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("no id in {body}"))
}
