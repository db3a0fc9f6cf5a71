//! deliver killed with SIGKILL (or stopped with SIGTERM) in the middle of a stream and started again: every event reaches
//! its receiver at least once. deliver runs as its own process (the binary `scripts/test.sh`
//! builds); the duplicates seen are printed.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::process::Child;

use crate::deliver_callbacks::publish;
use crate::harness::{Options, Pipeline, Stop, spawn_stage, stop_process};

fn spawn_deliver(pipeline: &Pipeline) -> Child {
    let extra = [
        // The same copy as before the crash: it takes its partitions back at once.
        "--copy-id=crash-test".to_owned(),
        // One callback at a time, so the stop lands mid-stream.
        "--endpoint-concurrency=1".to_owned(),
    ];
    spawn_stage(&[pipeline.deliver_args.clone(), extra.to_vec()].concat())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_killed_mid_stream_delivers_every_event_at_least_once() {
    stopped_mid_stream(Stop::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_terminated_mid_stream_drains_and_delivers_every_event() {
    stopped_mid_stream(Stop::Term).await;
}

async fn stopped_mid_stream(stop: Stop) {
    let options = Options {
        deliver_in_process: false,
        ..Options::default()
    };
    let pipeline = Pipeline::start_with(options).await;
    let (_, _, instance_id) = pipeline.connected_user().await;
    let events: Vec<String> = (0..1000).map(|n| format!("evt-crash-{n}")).collect();
    publish(&pipeline, instance_id, &events).await;
    let mut deliver = spawn_deliver(&pipeline);

    // Kill it while it is delivering: some events are in, most are not.
    let some = pipeline
        .receiver
        .wait_for(50, Duration::from_secs(30))
        .await
        .len();
    assert!(
        some >= 50 && some < events.len(),
        "killed mid-stream ({some} delivered)"
    );
    stop_process(&mut deliver, stop).await;
    let mut deliver = spawn_deliver(&pipeline);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let counts = loop {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for callback in pipeline.receiver.received() {
            *counts
                .entry(callback.header("webhook-id").unwrap_or_default().to_owned())
                .or_default() += 1;
        }
        if events.iter().all(|event| counts.contains_key(event))
            || tokio::time::Instant::now() > deadline
        {
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    deliver.start_kill().unwrap();
    let missing: Vec<&String> = events.iter().filter(|e| !counts.contains_key(*e)).collect();
    assert!(missing.is_empty(), "never delivered: {missing:?}");
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    println!(
        "{} events delivered after {stop:?}, {duplicates} duplicates",
        events.len()
    );
    pipeline.stop().await;
}
