//! Starts a whole pipeline for one test: its own topic prefix, consumer groups and ports, so
//! tests share the broker without seeing each other's records.

#![allow(dead_code)] // Shared by two test binaries, each using part of it.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use pipeline::StageError;
use pipeline::kafka::Topics;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;
use serde_json::Value;
use sim::{CallbackReceiver, DropboxSim};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const SIGNATURE_KEY: &str = "test-signature-key";
pub const REDIRECT_URI: &str = "https://www.mycoolapp.com/auth";
/// 32 bytes of base64: the secrets key of every test pipeline.
const SECRETS_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

pub fn brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

/// How to start a test pipeline.
pub struct Options {
    /// Extra ingest flags, e.g. `--produce-timeout=2s`.
    pub ingest_args: Vec<String>,
    /// Extra normalize flags.
    pub normalize_args: Vec<String>,
    /// Run normalize in the test's process (else the test runs it, with `normalize_args`).
    pub normalize_in_process: bool,
    /// Extra deliver flags (the default retry schedule is `200ms,500ms`).
    pub deliver_args: Vec<String>,
    /// Run deliver in the test's process (else the test runs it, with `deliver_args`).
    pub deliver_in_process: bool,
    /// Partitions of the test's topics.
    pub partitions: i32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            ingest_args: Vec::new(),
            normalize_args: Vec::new(),
            normalize_in_process: true,
            deliver_args: Vec::new(),
            deliver_in_process: true,
            partitions: 2,
        }
    }
}

impl Options {
    pub fn ingest_args(args: &[&str]) -> Self {
        Self {
            ingest_args: args.iter().map(|a| a.to_string()).collect(),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Ops {
    pub ingest: SocketAddr,
    pub normalize: Option<SocketAddr>,
    pub deliver: Option<SocketAddr>,
}

pub struct Pipeline {
    pub dropbox: DropboxSim,
    pub receiver: CallbackReceiver,
    pub topics: Topics,
    pub ingest_url: String,
    /// Where the stages serve `/metrics` and `/readyz`.
    pub ops: Ops,
    /// normalize's command line, to run it as a process of its own.
    pub normalize_args: Vec<String>,
    /// deliver's command line, likewise.
    pub deliver_args: Vec<String>,
    /// ingest's command line (it listens on a port of its own), likewise.
    pub ingest_args: Vec<String>,
    http: reqwest::Client,
    shutdown: CancellationToken,
    stages: Vec<JoinHandle<Result<(), StageError>>>,
}

impl Pipeline {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn")
            .try_init();
        let prefix = format!("t{}.", uuid::Uuid::new_v4().simple());
        let dropbox = DropboxSim::new();
        let dropbox_url = format!("http://{}", dropbox.spawn().await.unwrap());
        let receiver = CallbackReceiver::new();
        receiver.spawn().await.unwrap();
        let common = |name: &str| {
            vec![
                name.to_owned(),
                format!("--kafka-brokers={}", brokers()),
                format!("--topic-prefix={prefix}"),
                format!("--topic-partitions={}", options.partitions),
                format!("--secrets-key={SECRETS_KEY}"),
                "--metrics-listen=127.0.0.1:0".to_owned(),
            ]
        };
        let mut ingest_args = vec![
            "--listen=127.0.0.1:0".to_owned(),
            format!("--admin-token={ADMIN_TOKEN}"),
            format!("--dropbox-api-url={dropbox_url}"),
        ];
        ingest_args.extend(options.ingest_args);
        let ingest_args: Vec<String> = common("ingest").into_iter().chain(ingest_args).collect();
        let normalize_args: Vec<String> = common("normalize")
            .into_iter()
            .chain([
                format!("--dropbox-api-url={dropbox_url}"),
                format!("--group={prefix}normalize"),
            ])
            .chain(options.normalize_args)
            .collect();
        let deliver_args: Vec<String> = common("deliver")
            .into_iter()
            .chain([
                format!("--group={prefix}deliver"),
                "--allow-private-callbacks=true".to_owned(),
                "--retry-schedule=200ms,500ms".to_owned(),
            ])
            .chain(options.deliver_args)
            .collect();
        let ingest = ingest::Ingest::build(ingest::Settings::parse_from(&ingest_args))
            .await
            .unwrap();
        let normalize = match options.normalize_in_process {
            true => Some(
                normalize::Normalize::build(normalize::Settings::parse_from(&normalize_args))
                    .await
                    .unwrap(),
            ),
            false => None,
        };
        let deliver = match options.deliver_in_process {
            true => Some(
                deliver::Deliver::build(deliver::Settings::parse_from(&deliver_args))
                    .await
                    .unwrap(),
            ),
            false => None,
        };
        let ingest_url = format!("http://{}", ingest.local_addr());
        let ops = Ops {
            ingest: ingest.ops_addr(),
            normalize: normalize.as_ref().map(|n| n.ops_addr()),
            deliver: deliver.as_ref().map(|d| d.ops_addr()),
        };
        let shutdown = CancellationToken::new();
        let mut stages = vec![tokio::spawn(ingest.run(shutdown.clone()))];
        stages.extend(deliver.map(|deliver| tokio::spawn(deliver.run(shutdown.clone()))));
        stages.extend(normalize.map(|normalize| tokio::spawn(normalize.run(shutdown.clone()))));
        let pipeline = Self {
            dropbox,
            receiver,
            topics: Topics::new(&prefix),
            ingest_url,
            ops,
            normalize_args,
            deliver_args,
            ingest_args,
            http: reqwest::Client::new(),
            shutdown,
            stages,
        };
        for addr in [Some(ops.ingest), ops.normalize, ops.deliver]
            .into_iter()
            .flatten()
        {
            pipeline.wait_ready(&format!("http://{addr}/readyz")).await;
        }
        pipeline
    }

    async fn wait_ready(&self, url: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let response = self.http.get(url).send().await;
            if response.as_ref().is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{url} never became ready: {response:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Where Dropbox posts webhooks for `element`.
    pub fn webhook_url(&self, element: &str) -> String {
        format!("{}/events/{element}", self.ingest_url)
    }

    /// `POST /instances` as the operator; the status and the JSON answered.
    pub async fn create_instance(&self, body: &Value) -> (u16, Value) {
        self.admin(reqwest::Method::POST, "/instances", Some(body))
            .await
    }

    /// An /instances API call with the admin token; the status and the JSON answered.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.ingest_url))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs a webhook body to ingest at `path`, with `X-Dropbox-Signature` when given.
    pub async fn post_webhook(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        signature: Option<&str>,
    ) -> u16 {
        let mut request = self
            .http
            .post(format!("{}{path}", self.ingest_url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("x-dropbox-signature", signature);
        }
        request.send().await.unwrap().status().as_u16()
    }

    /// The value of one sample in the `/metrics` served at `ops` (0 when absent), e.g.
    /// `ingest_webhooks_total{outcome="accepted"}`.
    pub async fn metric(&self, ops: SocketAddr, sample: &str) -> f64 {
        let text = self
            .http
            .get(format!("http://{ops}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    }

    /// Has Dropbox notify ingest that `accounts` changed, and checks ingest answered 200.
    pub async fn notify(&self, app: &sim::App, accounts: &[&str]) {
        let element = match app.kind {
            sim::AppKind::User => "dropbox",
            sim::AppKind::Team => "dropboxbusiness",
        };
        self.dropbox
            .set_webhook_url(&app.client_id, &self.webhook_url(element));
        let status = self.dropbox.notify(&app.client_id, accounts).await.unwrap();
        assert_eq!(status, 200, "ingest accepted the webhook");
    }

    /// A team app, a team of `members`, and an instance of `dropboxbusiness` connected to it with
    /// events on; the instance as `POST /instances` answered it.
    pub async fn connected_team(&self, members: usize) -> (sim::App, sim::Team, Value) {
        let app = self.dropbox.create_app(sim::AppKind::Team, None);
        let team = self.dropbox.create_team(members);
        let code =
            self.dropbox
                .authorization_code(&app.client_id, &team.team_id, Some(REDIRECT_URI));
        let body = instance_body("dropboxbusiness", &app, &code, &self.receiver.url("/hooks"));
        let (status, instance) = self.create_instance(&body).await;
        assert_eq!(status, 200, "{instance}");
        (app, team, instance)
    }

    /// An app, an account, and an instance of `dropbox` connected to it with events on.
    pub async fn connected_user(&self) -> (sim::App, sim::Account, u64) {
        let app = self.dropbox.create_app(sim::AppKind::User, None);
        let account = self.dropbox.create_account();
        let code = self.dropbox.authorization_code(
            &app.client_id,
            &account.account_id,
            Some(REDIRECT_URI),
        );
        let callback = self.receiver.url("/hooks");
        let (status, instance) = self
            .create_instance(&instance_body("dropbox", &app, &code, &callback))
            .await;
        assert_eq!(status, 200, "{instance}");
        (app, account, instance["id"].as_u64().unwrap())
    }

    /// Stops every stage as SIGTERM would, checks each stopped cleanly, and deletes the test's
    /// topics so a long-lived development broker does not fill up.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for stage in self.stages {
            tokio::time::timeout(Duration::from_secs(30), stage)
                .await
                .expect("a stage stops within 30s of shutdown")
                .unwrap()
                .unwrap();
        }
        let kafka = pipeline::settings::KafkaSettings {
            brokers: brokers(),
            topic_prefix: self.topics.prefix().to_owned(),
            topic_partitions: 2,
            topic_replication: 1,
            compression: "lz4".into(),
        };
        pipeline::kafka::delete_prefixed_topics(&kafka)
            .await
            .unwrap();
    }
}

/// The documented `POST /instances` body, with this test's app, code and callback URL.
pub fn instance_body(element: &str, app: &sim::App, code: &str, callback_url: &str) -> Value {
    serde_json::json!({
        "element": {"key": element},
        "providerData": {"code": code},
        "configuration": {
            "oauth.api.key": app.client_id,
            "oauth.api.secret": app.client_secret,
            "oauth.callback.url": REDIRECT_URI,
            "authentication.type": "oauth2",
            "event.notification.enabled": true,
            "event.notification.callback.url": callback_url,
            "event.notification.signature.key": SIGNATURE_KEY
        },
        "tags": ["e2e"],
        "name": "e2e instance"
    })
}

/// Reads `topic` from the beginning (committed records only) until `count` records arrived or
/// `timeout` passed; returns what it read.
pub async fn read_topic(topic: &str, count: usize, timeout: Duration) -> Vec<OwnedMessage> {
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut records = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while records.len() < count {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(message)) => records.push(message.detach()),
            Ok(Err(error)) => panic!("reading {topic} failed: {error}"),
            Err(_) => break,
        }
    }
    records
}

/// A record's value as UTF-8.
pub fn payload_text(message: &OwnedMessage) -> &str {
    std::str::from_utf8(message.payload().unwrap_or_default()).unwrap()
}

/// Runs a stage's binary as a process of its own with `args` (its command line without the
/// program name); killed if the test drops it.
pub fn spawn_stage(args: &[String]) -> tokio::process::Child {
    tokio::process::Command::new(stage_binary(&args[0]))
        .args(&args[1..])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// `target/<profile>/<name>`, beside the directory of this test binary.
fn stage_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let binary = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join(name);
    let shown = binary.display();
    assert!(
        binary.exists(),
        "{shown} is missing: run `cargo build --bins` (scripts/test.sh does)"
    );
    binary
}

/// How a test stops a stage's process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGKILL: a crash.
    Kill,
    /// SIGTERM: the stage must drain and exit 0 within 30 s.
    Term,
}

/// Stops `child` the `stop` way and waits for it.
pub async fn stop_process(child: &mut tokio::process::Child, stop: Stop) {
    match stop {
        Stop::Kill => {
            child.start_kill().unwrap();
            child.wait().await.unwrap();
        }
        Stop::Term => {
            let pid = child.id().expect("the process is running").to_string();
            let sent = tokio::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .await
                .unwrap();
            assert!(sent.success());
            let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
                .await
                .expect("the stage exits within 30 s of SIGTERM")
                .unwrap();
            assert!(exit.success(), "the stage exits 0 after SIGTERM: {exit}");
        }
    }
}
