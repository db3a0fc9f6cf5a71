//! deliver against its baseline: a plain reqwest loop POSTing the same notifications to the same
//! fast local receiver at the same concurrency, in the same process.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use clap::{Args, Parser};
use futures::future::try_join_all;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::net::TcpListener;

use crate::fixture::{Stack, brokers, common_args};

#[derive(Debug, Clone, Args)]
pub struct DeliverBench {
    /// Notifications to deliver.
    #[arg(long, default_value_t = 20_000)]
    pub events: usize,
    /// Callbacks in flight at once (deliver's ENDPOINT_CONCURRENCY, and the loop's tasks).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

pub async fn run(bench: DeliverBench) -> anyhow::Result<()> {
    let (receiver_url, received) = spawn_receiver().await?;
    let body = notification(1);

    let baseline = plain_loop(&receiver_url, &body, bench.events, bench.concurrency).await?;
    received.store(0, Ordering::SeqCst);

    let stack = Stack::start().await?;
    let (_, instance) = stack.connect(&receiver_url).await?;
    publish(&stack.topics.events, instance, bench.events).await?;

    let started = Instant::now();
    let settings = deliver::Settings::try_parse_from(
        common_args("deliver", &stack.prefix).into_iter().chain([
            format!("--group={}deliver", stack.prefix),
            "--allow-private-callbacks=true".into(),
            format!("--endpoint-concurrency={}", bench.concurrency),
        ]),
    )?;
    let deliver = deliver::Deliver::build(settings).await?;
    let running = tokio::spawn(deliver.run(stack.shutdown.clone()));
    // Steady state: from the first callback, not counting start-up (the group join).
    while received.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (first_at, first_count) = (Instant::now(), received.load(Ordering::SeqCst));
    while received.load(Ordering::SeqCst) < bench.events {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let delivered = started.elapsed();
    let steady = (bench.events - first_count) as f64 / first_at.elapsed().as_secs_f64();
    stack.shutdown.cancel();
    running.await??;

    let per_second = |elapsed: Duration| bench.events as f64 / elapsed.as_secs_f64();
    stack.finish().await?;
    println!(
        "{} notifications at concurrency {}, one process:",
        bench.events, bench.concurrency
    );
    println!(
        "reqwest    {:>9.0} callbacks/s ({:.2} s)",
        per_second(baseline),
        baseline.as_secs_f64()
    );
    println!(
        "deliver    {:>9.0} callbacks/s steady ({:.0}/s and {:.2} s counting start-up)",
        steady,
        per_second(delivered),
        delivered.as_secs_f64()
    );
    println!(
        "ratio      {:.2} (deliver steady / plain reqwest loop)",
        steady / per_second(baseline)
    );
    Ok(())
}

/// A receiver that only counts and answers 200.
async fn spawn_receiver() -> anyhow::Result<(String, Arc<AtomicUsize>)> {
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let handler = move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            "ok"
        }
    };
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        axum::serve(listener, Router::new().route("/hook", post(handler))).await
    });
    Ok((url, received))
}

fn notification(instance_id: u64) -> String {
    serde_json::json!({"id": "bench", "topic": format!("instance-{instance_id}-dropbox-events"),
        "action": "create", "createdDate": "2026-12-04T15:04:05Z", "severity": "medium",
        "message": {"elementKey": "dropbox", "eventId": "bench", "instanceId": instance_id,
            "instance_id": instance_id, "instanceName": "bench", "instanceTags": [], "raw": {},
            "events": [{"date": "2026-12-04T15:04:03Z", "elementKey": "dropbox", "eventType": "CREATED",
                "objectId": "id:bench", "objectType": "files", "hubKey": "documents"}]}})
    .to_string()
}

/// The baseline: `concurrency` tasks POSTing `body` until `count` were answered.
async fn plain_loop(
    url: &str,
    body: &str,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<Duration> {
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks = (0..concurrency).map(|_| {
        let (client, next, url, body) = (
            client.clone(),
            next.clone(),
            url.to_owned(),
            body.to_owned(),
        );
        tokio::spawn(async move {
            while next.fetch_add(1, Ordering::SeqCst) < count {
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "the receiver answered {}",
                    response.status()
                );
            }
            anyhow::Ok(())
        })
    });
    for task in try_join_all(tasks).await? {
        task?;
    }
    Ok(started.elapsed())
}

async fn publish(topic: &str, instance_id: u64, count: usize) -> anyhow::Result<()> {
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("linger.ms", "5")
        .create()?;
    let key = instance_id.to_string();
    let body = notification(instance_id);
    let sends: Vec<_> = (0..count)
        .map(|_| {
            producer
                .send_result(FutureRecord::to(topic).key(&key).payload(&body))
                .map_err(|(error, _)| error)
        })
        .collect::<Result<_, _>>()?;
    try_join_all(sends).await?;
    Ok(())
}
