//! ingest while the broker goes away and comes back: every webhook it answered 200 is on
//! `webhooks.raw` afterwards. A test binary of its own, because it stops the shared broker (cargo
//! runs test binaries one after another, so no other test sees the outage).

#[path = "it/harness.rs"]
mod harness;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::{Options, Pipeline, read_topic};
use rdkafka::Message;
use sim::dropbox_signature;
use tokio::process::Command;

async fn kafka(command: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/kafka.sh");
    let status = Command::new(script).arg(command).status().await.unwrap();
    assert!(status.success(), "scripts/kafka.sh {command} failed");
}

/// Polls `/readyz` until it answers `status` (30 s at most); its body.
async fn wait_readyz(url: &str, status: u16) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let response = reqwest::get(url).await.unwrap();
        let answered = response.status().as_u16();
        let body = response.text().await.unwrap();
        if answered == status {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz never answered {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_webhook_survives_a_broker_outage() {
    let pipeline =
        Arc::new(Pipeline::start_with(Options::ingest_args(&["--produce-timeout=2s"])).await);
    let (app, _, _) = pipeline.connected_user().await;
    let answers: Arc<Mutex<Vec<(String, u16)>>> = Arc::default();
    let running = tokio_util::sync::CancellationToken::new();

    let mut senders = Vec::new();
    for sender in 0..4 {
        let (pipeline, answers, running) = (pipeline.clone(), answers.clone(), running.clone());
        let secret = app.client_secret.clone();
        senders.push(tokio::spawn(async move {
            for n in 0.. {
                if running.is_cancelled() {
                    break;
                }
                let account = format!("dbid:outage-{sender}-{n}");
                let body = format!("{{\"list_folder\": {{\"accounts\": [\"{account}\"]}}, \"delta\": {{\"users\": [1]}}}}");
                let signature = dropbox_signature(secret.as_bytes(), body.as_bytes());
                let status = pipeline.post_webhook("/events/dropbox", body, Some(&signature)).await;
                answers.lock().unwrap().push((account, status));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let readyz = format!("http://{}/readyz", pipeline.ops.ingest);
    kafka("stop").await;
    let down = wait_readyz(&readyz, 503).await;
    assert!(
        down.contains("kafka: no Kafka broker is reachable"),
        "{down}"
    );
    kafka("start").await;
    let up = wait_readyz(&readyz, 200).await;
    assert!(up.contains("kafka: ok"), "{up}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    running.cancel();
    for sender in senders {
        sender.await.unwrap();
    }

    let answers = answers.lock().unwrap().clone();
    let acknowledged: BTreeSet<&str> = answers
        .iter()
        .filter(|(_, status)| *status == 200)
        .map(|(account, _)| account.as_str())
        .collect();
    let refused = answers.iter().filter(|(_, status)| *status != 200).count();
    assert!(
        refused > 0,
        "the outage was felt: some webhooks were answered non-200"
    );
    assert!(
        answers
            .iter()
            .all(|(_, status)| [200, 503].contains(status)),
        "only 200 and 503 are answered"
    );
    let last = &answers.last().unwrap();
    assert_eq!(last.1, 200, "ingest accepts again once the broker is back");

    let records = read_topic(
        &pipeline.topics.webhooks_raw,
        usize::MAX,
        Duration::from_secs(15),
    )
    .await;
    let written: BTreeSet<String> = records
        .iter()
        .map(|r| String::from_utf8_lossy(r.key().unwrap()).into_owned())
        .collect();
    let lost: Vec<&&str> = acknowledged
        .iter()
        .filter(|a| !written.contains(**a))
        .collect();
    assert!(
        lost.is_empty(),
        "answered 200 but not on the topic: {lost:?}"
    );
    println!(
        "{} webhooks: {} answered 200 (all on the topic), {refused} answered 503",
        answers.len(),
        acknowledged.len()
    );
    Arc::into_inner(pipeline)
        .expect("senders are done")
        .stop()
        .await;
}
