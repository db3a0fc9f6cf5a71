//! ingest stopped with SIGTERM while webhooks keep coming: it exits 0, and every webhook it
//! answered 200 is on `webhooks.raw`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::Message;
use sim::dropbox_signature;

use crate::harness::{Pipeline, Stop, read_topic, spawn_stage, stop_process};

fn webhook(account: &str) -> String {
    format!("{{\"list_folder\": {{\"accounts\": [\"{account}\"]}}, \"delta\": {{\"users\": [1]}}}}")
}

/// Where the webhooks go, and the app secret that signs them.
#[derive(Clone)]
struct Target {
    http: reqwest::Client,
    url: String,
    secret: String,
}

impl Target {
    /// POSTs a signed webhook naming `account`; the status, or 0 when nothing answered.
    async fn post(&self, account: String) -> u16 {
        let body = webhook(&account);
        let signature = dropbox_signature(self.secret.as_bytes(), body.as_bytes());
        let answer = self
            .http
            .post(&self.url)
            .header("x-dropbox-signature", signature)
            .body(body)
            .send()
            .await;
        answer.map(|r| r.status().as_u16()).unwrap_or(0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_terminated_under_load_exits_cleanly_and_loses_nothing() {
    let pipeline = Pipeline::start().await;
    let (app, _, _) = pipeline.connected_user().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let args: Vec<String> = pipeline
        .ingest_args
        .iter()
        .map(|arg| match arg.starts_with("--listen=") {
            true => format!("--listen=127.0.0.1:{port}"),
            false => arg.clone(),
        })
        .collect();
    let mut ingest = spawn_stage(&args);
    let url = format!("http://127.0.0.1:{port}/events/dropbox");
    let target = Target {
        http: reqwest::Client::new(),
        url,
        secret: app.client_secret.clone(),
    };
    // Ready once it accepts a signed webhook.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while target.post("dbid:warm-up".into()).await != 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "ingest never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let answers: Arc<Mutex<Vec<(String, u16)>>> = Arc::default();
    let senders: Vec<_> = (0..4)
        .map(|sender| {
            let (answers, target) = (answers.clone(), target.clone());
            tokio::spawn(async move {
                for n in 0.. {
                    let account = format!("dbid:term-{sender}-{n}");
                    let status = target.post(account.clone()).await;
                    answers.lock().unwrap().push((account, status));
                    if status == 0 {
                        return; // ingest is gone
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop_process(&mut ingest, Stop::Term).await;
    for sender in senders {
        sender.await.unwrap();
    }

    let answers = answers.lock().unwrap().clone();
    let accepted: BTreeSet<&str> = answers
        .iter()
        .filter(|(_, s)| *s == 200)
        .map(|(a, _)| a.as_str())
        .collect();
    assert!(
        accepted.len() > 10,
        "it was under load: {} accepted",
        accepted.len()
    );
    let records = read_topic(
        &pipeline.topics.webhooks_raw,
        usize::MAX,
        Duration::from_secs(5),
    )
    .await;
    let written: BTreeSet<String> = records
        .iter()
        .map(|r| String::from_utf8_lossy(r.key().unwrap()).into_owned())
        .collect();
    let lost: Vec<&&str> = accepted.iter().filter(|a| !written.contains(**a)).collect();
    assert!(
        lost.is_empty(),
        "answered 200 but not on the topic: {lost:?}"
    );
    pipeline.stop().await;
}
