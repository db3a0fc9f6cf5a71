//! normalize against the Dropbox simulator: what each kind of change becomes on `events`.

use std::time::Duration;

use rdkafka::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;

use crate::harness::{Pipeline, REDIRECT_URI, brokers, instance_body, payload_text, read_topic};
use crate::schemas_check::assert_valid;

/// Reads `events` until `count` notifications arrived; checks each against the schema.
async fn notifications(pipeline: &Pipeline, count: usize) -> Vec<Value> {
    let records = read_topic(&pipeline.topics.events, count, Duration::from_secs(30)).await;
    assert_eq!(records.len(), count, "expected {count} notifications");
    records
        .iter()
        .map(|record| {
            let notification: Value = serde_json::from_str(payload_text(record)).unwrap();
            assert_valid(schemas::NOTIFICATION_SCHEMA, &notification);
            notification
        })
        .collect()
}

/// (eventType, objectType, objectId).
type EventSummary = (String, String, String);

/// (eventType, objectType, objectId) of every event in a notification.
fn events(notification: &Value) -> Vec<EventSummary> {
    notification["message"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap().to_owned();
            (text("eventType"), text("objectType"), text("objectId"))
        })
        .collect()
}

fn triple(kind: &str, object_type: &str, id: &Value) -> EventSummary {
    (
        kind.to_owned(),
        object_type.to_owned(),
        id.as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adds_edits_deletes_and_folders_become_standard_events() {
    let pipeline = Pipeline::start().await;
    let (app, account, instance_id) = pipeline.connected_user().await;
    let dropbox = &pipeline.dropbox;
    let accounts = [account.account_id.as_str()];

    let file = dropbox.upload(&account.account_id, "/report.txt");
    pipeline.notify(&app, &accounts).await;
    let first = notifications(&pipeline, 1).await;
    assert_eq!(events(&first[0]), [triple("CREATED", "files", &file["id"])]);
    assert_eq!(first[0]["message"]["instanceId"], instance_id);
    assert_eq!(
        first[0]["message"]["raw"]["entries"][0]["path_display"],
        "/report.txt"
    );

    dropbox.upload(&account.account_id, "/report.txt");
    pipeline.notify(&app, &accounts).await;
    let second = notifications(&pipeline, 2).await;
    assert_eq!(
        events(&second[1]),
        [triple("UPDATED", "files", &file["id"])]
    );

    let folder = dropbox.create_folder(&account.account_id, "/Projects");
    pipeline.notify(&app, &accounts).await;
    let third = notifications(&pipeline, 3).await;
    assert_eq!(
        events(&third[2]),
        [triple("CREATED", "folders", &folder["id"])]
    );

    dropbox.delete(&account.account_id, "/report.txt");
    pipeline.notify(&app, &accounts).await;
    let fourth = notifications(&pipeline, 4).await;
    assert_eq!(
        events(&fourth[3]),
        [triple("DELETED", "files", &Value::from("/report.txt"))]
    );
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_app_reports_each_members_changes() {
    let pipeline = Pipeline::start().await;
    let dropbox = &pipeline.dropbox;
    let (app, team, _) = pipeline.connected_team(2).await;
    let (alice, bob) = (
        &team.members[0].team_member_id,
        &team.members[1].team_member_id,
    );
    let alice_file = dropbox.upload(alice, "/alice.txt");
    let bob_file = dropbox.upload(bob, "/bob.txt");
    pipeline.notify(&app, &[alice, bob]).await;

    let mut seen: Vec<(String, Vec<EventSummary>)> = notifications(&pipeline, 2)
        .await
        .iter()
        .map(|n| {
            (
                n["message"]["accountId"].as_str().unwrap().to_owned(),
                events(n),
            )
        })
        .collect();
    seen.sort();
    let mut expected = vec![
        (
            alice.clone(),
            vec![triple("CREATED", "files", &alice_file["id"])],
        ),
        (
            bob.clone(),
            vec![triple("CREATED", "files", &bob_file["id"])],
        ),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    let selected: Vec<_> = dropbox
        .calls()
        .into_iter()
        .filter(|call| call.route == "files/list_folder/continue")
        .filter_map(|call| call.select_user)
        .collect();
    assert!(
        selected.contains(alice) && selected.contains(bob),
        "each member was asked for as itself"
    );
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_five_changes_make_three_notifications() {
    let pipeline = Pipeline::start().await;
    let (app, account, _) = pipeline.connected_user().await;
    let dropbox = &pipeline.dropbox;
    dropbox.set_page_size(10); // and has_more is followed across pages
    let ids: Vec<Value> = (0..45)
        .map(|i| dropbox.upload(&account.account_id, &format!("/f{i:02}.txt"))["id"].clone())
        .collect();
    pipeline.notify(&app, &[&account.account_id]).await;

    let all = notifications(&pipeline, 3).await;
    let sizes: Vec<usize> = all.iter().map(|n| events(n).len()).collect();
    assert_eq!(sizes, [20, 20, 5]);
    let mut reported: Vec<String> = all.iter().flat_map(events).map(|(_, _, id)| id).collect();
    reported.sort();
    let mut expected: Vec<String> = ids
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    expected.sort();
    assert_eq!(reported, expected);
    let event_ids: std::collections::BTreeSet<String> = all
        .iter()
        .map(|n| n["message"]["eventId"].to_string())
        .collect();
    assert_eq!(event_ids.len(), 3, "each notification has its own eventId");
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_cursor_lists_again_without_recreating_known_files() {
    let pipeline = Pipeline::start().await;
    let (app, account, _) = pipeline.connected_user().await;
    let dropbox = &pipeline.dropbox;
    let known = dropbox.upload(&account.account_id, "/known.txt");
    pipeline.notify(&app, &[&account.account_id]).await;
    notifications(&pipeline, 1).await;

    dropbox.reset_cursors(&account.account_id);
    let fresh = dropbox.upload(&account.account_id, "/fresh.txt");
    pipeline.notify(&app, &[&account.account_id]).await;
    let after = notifications(&pipeline, 2).await;
    let mut second = events(&after[1]);
    second.sort();
    let mut expected = vec![
        triple("UPDATED", "files", &known["id"]),
        triple("CREATED", "files", &fresh["id"]),
    ];
    expected.sort();
    assert_eq!(second, expected);
    assert!(
        dropbox
            .calls()
            .iter()
            .any(|c| c.route == "files/list_folder/continue" && c.status == 409)
    );
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refreshed_and_dropbox_failures_retried() {
    let pipeline = Pipeline::start().await;
    let (app, account, _) = pipeline.connected_user().await;
    let dropbox = &pipeline.dropbox;
    dropbox.expire_tokens();
    let file = dropbox.upload(&account.account_id, "/after-expiry.txt");
    dropbox.fail_next(1, 429, Some(1));
    pipeline.notify(&app, &[&account.account_id]).await;
    let all = notifications(&pipeline, 1).await;
    assert_eq!(events(&all[0]), [triple("CREATED", "files", &file["id"])]);
    let calls = dropbox.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.route == "files/list_folder/continue" && c.status == 429)
    );
    assert!(
        calls
            .iter()
            .any(|c| c.route == "files/list_folder/continue" && c.status == 401)
    );
    assert!(
        calls.iter().filter(|c| c.route == "oauth2/token").count() >= 2,
        "code exchange, then refresh"
    );
    assert!(
        pipeline
            .metric(
                pipeline.ops.normalize.unwrap(),
                "normalize_dropbox_retries_total"
            )
            .await
            >= 1.0
    );
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_in_two_instances_gives_events_to_both() {
    let pipeline = Pipeline::start().await;
    let (app, account, first_id) = pipeline.connected_user().await;
    let dropbox = &pipeline.dropbox;
    let code = dropbox.authorization_code(&app.client_id, &account.account_id, Some(REDIRECT_URI));
    let body = instance_body("dropbox", &app, &code, &pipeline.receiver.url("/second"));
    let (status, second) = pipeline.create_instance(&body).await;
    assert_eq!(status, 200);
    dropbox.upload(&account.account_id, "/shared.txt");
    pipeline.notify(&app, &[&account.account_id]).await;
    let mut instances: Vec<u64> = notifications(&pipeline, 2)
        .await
        .iter()
        .map(|n| n["message"]["instanceId"].as_u64().unwrap())
        .collect();
    instances.sort();
    let mut expected = vec![first_id, second["id"].as_u64().unwrap()];
    expected.sort();
    assert_eq!(instances, expected);
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_is_not_an_envelope_goes_to_the_dead_letter_topic() {
    let pipeline = Pipeline::start().await;
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .unwrap();
    let record = FutureRecord::to(&pipeline.topics.webhooks_raw)
        .key("dbid:broken")
        .payload("not an envelope");
    producer
        .send(record, Duration::from_secs(10))
        .await
        .unwrap();
    let parked = read_topic(&pipeline.topics.webhooks_dlq, 1, Duration::from_secs(30)).await;
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].key(), Some(&b"dbid:broken"[..]));
    let value: Value = serde_json::from_str(payload_text(&parked[0])).unwrap();
    assert!(
        value["reason"]
            .as_str()
            .unwrap()
            .contains("not a raw envelope"),
        "{value}"
    );
    assert_eq!(value["record"], "not an envelope");
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_dropbox_keeps_failing_is_put_off_and_retried_later() {
    let options = crate::harness::Options {
        normalize_args: vec!["--dropbox-retry-budget=1s".into()],
        ..Default::default()
    };
    let pipeline = Pipeline::start_with(options).await;
    let (app, account, _) = pipeline.connected_user().await;
    let healthy = pipeline.dropbox.create_account();
    let code = pipeline.dropbox.authorization_code(
        &app.client_id,
        &healthy.account_id,
        Some(REDIRECT_URI),
    );
    let (status, _) = pipeline
        .create_instance(&instance_body(
            "dropbox",
            &app,
            &code,
            &pipeline.receiver.url("/healthy"),
        ))
        .await;
    assert_eq!(status, 200);
    let dropbox = &pipeline.dropbox;
    // normalize is at work before the faults begin.
    dropbox.upload(&healthy.account_id, "/warm-up.txt");
    pipeline.notify(&app, &[&healthy.account_id]).await;
    notifications(&pipeline, 1).await;
    let failing_file = dropbox.upload(&account.account_id, "/later.txt");
    // Tries at 0, 0.2 and 0.6 s fail; the next would come after the 1 s budget: put off. (The
    // simulator's faults hit whichever call comes next, so there are exactly three.)
    dropbox.fail_next(3, 503, None);
    let started = std::time::Instant::now();
    pipeline.notify(&app, &[&account.account_id]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let healthy_file = dropbox.upload(&healthy.account_id, "/now.txt");
    pipeline.notify(&app, &[&healthy.account_id]).await;

    notifications(&pipeline, 3).await;
    // When each account's last notification was written, by account.
    let written: std::collections::BTreeMap<String, (i64, Value)> =
        read_topic(&pipeline.topics.events, 3, Duration::from_secs(5))
            .await
            .iter()
            .map(|record| {
                let notification: Value = serde_json::from_str(payload_text(record)).unwrap();
                let account = notification["message"]["accountId"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                (
                    account,
                    (record.timestamp().to_millis().unwrap(), notification),
                )
            })
            .collect();
    let (healthy_at, healthy_notification) = &written[&healthy.account_id];
    let (failing_at, failing_notification) = &written[&account.account_id];
    assert_eq!(
        events(healthy_notification),
        [triple("CREATED", "files", &healthy_file["id"])]
    );
    assert_eq!(
        events(failing_notification),
        [triple("CREATED", "files", &failing_file["id"])]
    );
    assert!(
        healthy_at < failing_at,
        "the healthy account is not held up by the failing one"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "the retry waited for its time"
    );
    let put_off = pipeline
        .metric(
            pipeline.ops.normalize.unwrap(),
            "normalize_records_total{outcome=\"put_off\"}",
        )
        .await;
    assert!(put_off >= 1.0);
    pipeline.stop().await;
}
