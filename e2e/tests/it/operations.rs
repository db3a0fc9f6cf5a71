//! What operators watch: `/readyz` until the instances are loaded, and `/metrics` agreeing with
//! what went through.

use std::time::Duration;

use clap::Parser;
use tokio_util::sync::CancellationToken;

use crate::harness::Pipeline;

async fn readyz(http: &reqwest::Client, ops: std::net::SocketAddr) -> (u16, String) {
    let response = http
        .get(format!("http://{ops}/readyz"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_says_not_ready_until_the_instances_are_loaded() {
    let pipeline = Pipeline::start().await;
    pipeline.connected_user().await;
    // Another copy of deliver: built, its ops endpoints up, not yet running.
    let args: Vec<String> = pipeline
        .deliver_args
        .iter()
        .map(|arg| match arg.starts_with("--group=") {
            true => format!("{arg}-second"),
            false => arg.clone(),
        })
        .collect();
    let deliver = deliver::Deliver::build(deliver::Settings::parse_from(&args))
        .await
        .unwrap();
    let ops = deliver.ops_addr();
    let http = reqwest::Client::new();
    let (status, body) = readyz(&http, ops).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("instances: loading the instances topic"),
        "{body}"
    );
    assert!(body.contains("consumer: not consuming yet"), "{body}");
    assert_eq!(
        http.get(format!("http://{ops}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let shutdown = CancellationToken::new();
    let running = tokio::spawn(deliver.run(shutdown.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let body = loop {
        let (status, body) = readyz(&http, ops).await;
        if status == 200 {
            break body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never ready: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(body, "consumer: ok\ninstances: ok\n");
    shutdown.cancel();
    running.await.unwrap().unwrap();
    pipeline.stop().await;
}

/// A stage's `/metrics`, parsed: it must be valid exposition text.
async fn scrape(ops: std::net::SocketAddr) -> prometheus_parse::Scrape {
    let text = reqwest::get(format!("http://{ops}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines = text.lines().map(|line| Ok(line.to_owned()));
    prometheus_parse::Scrape::parse(lines).expect("the exposition parses")
}

/// The value of `name` with `labels` (all samples of that name summed when `labels` is empty).
fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            _ => 0.0,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_of_all_three_stages_agree_with_what_went_through() {
    const N: usize = 5;
    let pipeline = Pipeline::start().await;
    let dropbox = &pipeline.dropbox;
    let app = dropbox.create_app(sim::AppKind::User, Some(pipeline.webhook_url("dropbox")));
    for n in 0..N {
        // One account and instance per webhook: each makes exactly one notification.
        let account = dropbox.create_account();
        let code = dropbox.authorization_code(
            &app.client_id,
            &account.account_id,
            Some(crate::harness::REDIRECT_URI),
        );
        let body =
            crate::harness::instance_body("dropbox", &app, &code, &pipeline.receiver.url("/m"));
        assert_eq!(pipeline.create_instance(&body).await.0, 200);
        dropbox.upload(&account.account_id, &format!("/file-{n}.txt"));
        pipeline.notify(&app, &[&account.account_id]).await;
    }
    assert_eq!(
        pipeline
            .receiver
            .wait_for(N, Duration::from_secs(30))
            .await
            .len(),
        N
    );
    tokio::time::sleep(Duration::from_millis(500)).await;

    let n = N as f64;
    let ingest = scrape(pipeline.ops.ingest).await;
    assert_eq!(
        value(&ingest, "ingest_webhooks_total", &[("outcome", "accepted")]),
        n
    );
    assert_eq!(value(&ingest, "ingest_records_produced_total", &[]), n);
    assert_eq!(
        value(&ingest, "ingest_produce_seconds", &[]),
        n,
        "one produce latency per webhook"
    );
    assert_eq!(
        value(&ingest, "ingest_http_responses_total", &[("class", "2xx")]),
        2.0 * n,
        "webhooks and instances"
    );
    let normalize = scrape(pipeline.ops.normalize.unwrap()).await;
    assert_eq!(
        value(
            &normalize,
            "normalize_records_total",
            &[("outcome", "normalized")]
        ),
        n
    );
    assert_eq!(value(&normalize, "normalize_notifications_total", &[]), n);
    assert!(
        value(
            &normalize,
            "normalize_dropbox_calls_total",
            &[
                ("endpoint", "files/list_folder/continue"),
                ("outcome", "ok")
            ]
        ) >= n
    );
    let deliver = scrape(pipeline.ops.deliver.unwrap()).await;
    assert_eq!(
        value(
            &deliver,
            "deliver_events_total",
            &[("outcome", "delivered")]
        ),
        n
    );
    assert_eq!(
        value(&deliver, "deliver_attempts_total", &[("outcome", "2xx")]),
        n
    );
    assert_eq!(
        value(&deliver, "deliver_end_to_end_seconds", &[]),
        n,
        "the end-to-end histogram counted every event"
    );
    pipeline.stop().await;
}
