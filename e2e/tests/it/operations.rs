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
