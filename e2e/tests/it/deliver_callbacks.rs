//! deliver against real HTTP receivers: retries with backoff, parking and replay, redirects,
//! 410, and an endpoint that hangs without holding up a healthy one.

use std::time::{Duration, Instant};

use clap::Parser;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use sim::{CallbackReceiver, Reply};

use crate::harness::{Options, Pipeline, brokers, payload_text, read_topic};

/// A notification as normalize writes it, with its own event id.
fn notification(instance_id: u64, event_id: &str) -> String {
    json!({"id": event_id, "topic": format!("instance-{instance_id}-dropbox-events"), "action": "create",
        "createdDate": "2026-12-04T15:04:05Z", "severity": "medium",
        "message": {"elementKey": "dropbox", "eventId": event_id, "instanceId": instance_id,
            "instance_id": instance_id, "instanceName": "i", "instanceTags": [], "raw": {},
            "events": [{"date": "2026-12-04T15:04:03Z", "elementKey": "dropbox", "eventType": "CREATED",
                "objectId": event_id, "objectType": "files", "hubKey": "documents"}]}})
    .to_string()
}

/// Writes notifications for `instance_id` straight to `events`, as normalize would.
pub async fn publish(pipeline: &Pipeline, instance_id: u64, event_ids: &[String]) {
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .unwrap();
    let key = instance_id.to_string();
    let payloads: Vec<String> = event_ids
        .iter()
        .map(|id| notification(instance_id, id))
        .collect();
    let sends = payloads.iter().map(|payload| {
        let record = FutureRecord::to(&pipeline.topics.events)
            .key(&key)
            .payload(payload);
        producer
            .send_result(record)
            .map_err(|(error, _)| error)
            .unwrap()
    });
    for sent in futures::future::join_all(sends.collect::<Vec<_>>()).await {
        sent.unwrap().unwrap();
    }
}

/// An instance whose callback goes to `receiver`.
async fn instance_for(pipeline: &Pipeline, receiver: &CallbackReceiver, path: &str) -> u64 {
    let (_, _, id) = pipeline.connected_user().await;
    let patch = json!({"configuration": {"event.notification.callback.url": receiver.url(path)}});
    let (status, _) = pipeline
        .admin(
            reqwest::Method::PATCH,
            &format!("/instances/{id}"),
            Some(&patch),
        )
        .await;
    assert_eq!(status, 200);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_gets_the_same_event_again_after_a_backoff() {
    let pipeline = Pipeline::start().await;
    let receiver = &pipeline.receiver;
    let id = instance_for(&pipeline, receiver, "/flaky").await;
    receiver.script(vec![
        Reply::Status(500),
        Reply::StatusWithHeaders(503, vec![("retry-after".into(), "1".into())]),
    ]);
    publish(&pipeline, id, &["evt-flaky".into()]).await;

    let tries = receiver.wait_for(3, Duration::from_secs(30)).await;
    assert_eq!(tries.len(), 3, "500, 503, then 200");
    for attempt in &tries {
        assert_eq!(attempt.header("webhook-id"), Some("evt-flaky"));
        assert_eq!(attempt.header("elements-webhook-id"), Some("evt-flaky"));
        assert_eq!(
            attempt.body, tries[0].body,
            "every try carries the same bytes"
        );
    }
    assert!(
        tries[2].at - tries[1].at >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 3, "nothing more after the 200");
    assert_eq!(
        pipeline
            .metric(pipeline.ops.deliver.unwrap(), "deliver_retries_total")
            .await,
        2.0
    );
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_always_fails_is_parked_then_replayed() {
    let pipeline = Pipeline::start().await;
    let receiver = &pipeline.receiver;
    let id = instance_for(&pipeline, receiver, "/down").await;
    receiver.set_default(Reply::Status(500));
    publish(&pipeline, id, &["evt-parked".into()]).await;

    let parked = read_topic(&pipeline.topics.events_dlq, 1, Duration::from_secs(30)).await;
    assert_eq!(parked.len(), 1);
    let value: Value = serde_json::from_str(payload_text(&parked[0])).unwrap();
    assert_eq!(value["eventId"], "evt-parked");
    assert_eq!(value["instanceId"], id);
    let attempts = value["attempts"].as_array().unwrap();
    assert_eq!(
        attempts.len(),
        3,
        "the first try and the two of the schedule"
    );
    assert!(
        attempts
            .iter()
            .all(|a| a["status"] == 500 && a["at"].is_string())
    );
    assert_eq!(value["notification"]["message"]["eventId"], "evt-parked");
    assert_eq!(receiver.received().len(), 3);

    // The endpoint recovers; the operator replays this instance's parked events.
    receiver.set_default(Reply::Status(200));
    let settings =
        deliver::Settings::parse_from(pipeline.deliver_args.iter().chain(&["replay".to_owned()]));
    let report = deliver::replay(&settings, Some(id)).await.unwrap();
    assert_eq!((report.parked, report.replayed), (1, 1));
    let tries = receiver.wait_for(4, Duration::from_secs(30)).await;
    assert_eq!(tries.len(), 4);
    assert_eq!(tries[3].header("webhook-id"), Some("evt-parked"));
    assert_eq!(
        tries[3].body, tries[0].body,
        "the replayed event is the parked one, byte for byte"
    );
    let other = deliver::replay(&settings, Some(id + 1)).await.unwrap();
    assert_eq!(
        other.replayed, 0,
        "another instance's replay leaves this one alone"
    );
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed_and_gone_stops_at_once() {
    let pipeline = Pipeline::start().await;
    let target = CallbackReceiver::new();
    target.spawn().await.unwrap();
    let redirecting = CallbackReceiver::new();
    redirecting.spawn().await.unwrap();
    redirecting.set_default(Reply::Redirect(301, target.url("/moved")));
    let gone = CallbackReceiver::new();
    gone.spawn().await.unwrap();
    gone.set_default(Reply::Status(410));
    let redirected_id = instance_for(&pipeline, &redirecting, "/old").await;
    let gone_id = instance_for(&pipeline, &gone, "/gone").await;
    publish(&pipeline, redirected_id, &["evt-301".into()]).await;
    publish(&pipeline, gone_id, &["evt-410".into()]).await;

    let parked = read_topic(&pipeline.topics.events_dlq, 2, Duration::from_secs(30)).await;
    assert_eq!(parked.len(), 2);
    let by_event: std::collections::BTreeMap<String, Value> = parked
        .iter()
        .map(|r| serde_json::from_str::<Value>(payload_text(r)).unwrap())
        .map(|v| (v["eventId"].as_str().unwrap().to_owned(), v))
        .collect();
    assert_eq!(
        by_event["evt-410"]["attempts"].as_array().unwrap().len(),
        1,
        "410 stops at once"
    );
    assert!(
        by_event["evt-410"]["reason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
    assert_eq!(gone.received().len(), 1);
    let redirects = by_event["evt-301"]["attempts"].as_array().unwrap();
    assert!(
        redirects.iter().all(|a| a["status"] == 301),
        "a 301 is a failure"
    );
    assert_eq!(redirecting.received().len(), 3);
    assert!(
        target.received().is_empty(),
        "the redirect was not followed"
    );
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_endpoint_does_not_hold_up_a_healthy_one_on_the_same_partition() {
    let options = Options {
        partitions: 1,
        deliver_args: vec![
            "--request-timeout=20s".into(),
            "--endpoint-concurrency=2".into(),
        ],
        ..Options::default()
    };
    let pipeline = Pipeline::start_with(options).await;
    let hanging = CallbackReceiver::new();
    hanging.spawn().await.unwrap();
    hanging.set_default(Reply::Hang);
    let healthy = CallbackReceiver::new();
    healthy.spawn().await.unwrap();
    let hanging_id = instance_for(&pipeline, &hanging, "/hang").await;
    let healthy_id = instance_for(&pipeline, &healthy, "/ok").await;
    let started = Instant::now();
    // Interleaved on the one partition: hanging first.
    for n in 0..5 {
        publish(&pipeline, hanging_id, &[format!("evt-hang-{n}")]).await;
        publish(&pipeline, healthy_id, &[format!("evt-ok-{n}")]).await;
    }
    let delivered = healthy.wait_for(5, Duration::from_secs(10)).await;
    assert_eq!(
        delivered.len(),
        5,
        "the healthy endpoint got all its events"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "while the other one still hangs"
    );
    assert_eq!(
        hanging.received().len(),
        2,
        "the hanging endpoint has its 2 connections, no more"
    );
    pipeline.stop().await;
}
