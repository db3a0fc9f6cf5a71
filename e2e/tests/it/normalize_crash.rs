//! normalize killed with SIGKILL (or stopped with SIGTERM) in the middle of a stream and started again: `events`, read
//! `read_committed`, holds every expected event exactly once, and no known object flips to
//! CREATED. normalize runs as its own process (the binary `scripts/test.sh` builds).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Child;

use crate::harness::{
    Options, Pipeline, Stop, payload_text, read_topic, spawn_stage, stop_process,
};

fn spawn_normalize(pipeline: &Pipeline) -> Child {
    // The same copy id as before the crash: the new process fences the dead one's transaction.
    let args = [
        pipeline.normalize_args.clone(),
        vec!["--copy-id=crash-test".into()],
    ]
    .concat();
    spawn_stage(&args)
}

/// Every notification on `events`, once all `expected` objects were reported.
async fn notifications_covering(pipeline: &Pipeline, expected: &[String]) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let records = read_topic(&pipeline.topics.events, usize::MAX, Duration::from_secs(3)).await;
        let notifications: Vec<Value> = records
            .iter()
            .map(|r| serde_json::from_str(payload_text(r)).unwrap())
            .collect();
        let reported = |id: &String| {
            notifications.iter().any(|n| {
                n["message"]["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["objectId"] == *id)
            })
        };
        if expected.iter().all(reported) {
            return notifications;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not every object was reported"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normalize_killed_mid_stream_reports_every_change_once() {
    stopped_mid_stream(Stop::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normalize_terminated_mid_stream_drains_and_reports_every_change_once() {
    stopped_mid_stream(Stop::Term).await;
}

async fn stopped_mid_stream(stop: Stop) {
    let options = Options {
        normalize_in_process: false,
        ..Options::default()
    };
    let pipeline = Pipeline::start_with(options).await;
    let (app, account, _) = pipeline.connected_user().await;
    let dropbox = &pipeline.dropbox;
    let accounts = [account.account_id.as_str()];

    let mut normalize = spawn_normalize(&pipeline);
    let upload = |path: &str| {
        dropbox.upload(&account.account_id, path)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let common = upload("/common.txt");
    pipeline.notify(&app, &accounts).await;
    let mut files = vec![common.clone()];
    for round in 1..=40 {
        if round % 15 == 0 {
            // Kill only a copy at work: what it reported so far is on the topic, and more is
            // in flight.
            notifications_covering(&pipeline, &files[..files.len() - 2]).await;
            for extra in 0..3 {
                files.push(upload(&format!("/round-{round}-{extra}.txt")));
                pipeline.notify(&app, &accounts).await;
            }
            stop_process(&mut normalize, stop).await;
            normalize = spawn_normalize(&pipeline);
        }
        files.push(upload(&format!("/round-{round}.txt")));
        upload("/common.txt");
        pipeline.notify(&app, &accounts).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let notifications = notifications_covering(&pipeline, &files).await;
    normalize.start_kill().unwrap();
    let mut per_object: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for event in notifications
        .iter()
        .flat_map(|n| n["message"]["events"].as_array().unwrap())
    {
        let (object, kind) = (
            event["objectId"].as_str().unwrap(),
            event["eventType"].as_str().unwrap(),
        );
        per_object.entry(object).or_default().push(kind);
    }
    for file in &files[1..] {
        assert_eq!(
            per_object[file.as_str()],
            ["CREATED"],
            "{file} is reported once, as created"
        );
    }
    let common_kinds = &per_object[common.as_str()];
    assert_eq!(common_kinds[0], "CREATED");
    assert!(
        common_kinds[1..].iter().all(|kind| *kind == "UPDATED"),
        "a known object never flips to CREATED: {common_kinds:?}"
    );
    let event_ids: std::collections::BTreeSet<&str> = notifications
        .iter()
        .map(|n| n["message"]["eventId"].as_str().unwrap())
        .collect();
    assert_eq!(
        event_ids.len(),
        notifications.len(),
        "no notification is on the topic twice"
    );
    pipeline.stop().await;
}
