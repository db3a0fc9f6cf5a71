//! The operator's /instances API against the Dropbox simulator, and what it stores in Kafka.

use std::time::Duration;

use rdkafka::Message;
use reqwest::Method;
use serde_json::{Value, json};
use sim::AppKind;

use crate::harness::{Pipeline, SIGNATURE_KEY, instance_body, payload_text, read_topic};
use crate::schemas_check::assert_valid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_team_body_creates_an_instance_with_secrets_sealed() {
    let pipeline = Pipeline::start().await;
    let dropbox = &pipeline.dropbox;
    let (app, team, instance) = pipeline.connected_team(2).await;
    let id = instance["id"].as_u64().expect("a numeric id");
    assert_eq!(instance["teamId"], team.team_id);
    let mut members: Vec<&str> = instance["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    members.sort();
    let mut expected: Vec<&str> = team
        .members
        .iter()
        .map(|m| m.team_member_id.as_str())
        .collect();
    expected.sort();
    assert_eq!(members, expected);
    let shown = instance.to_string();
    assert!(
        !shown.contains(&app.client_secret) && !shown.contains(SIGNATURE_KEY),
        "{shown}"
    );

    // Each member's first cursor was taken, on behalf of that member, before the answer.
    let cursors: Vec<_> = dropbox
        .calls()
        .into_iter()
        .filter(|call| call.route == "files/list_folder/get_latest_cursor" && call.status == 200)
        .filter_map(|call| call.select_user)
        .collect();
    assert_eq!(cursors.len(), 2);
    assert!(
        team.members
            .iter()
            .all(|m| cursors.contains(&m.team_member_id))
    );

    let (status, listed) = pipeline.admin(Method::GET, "/instances", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed[0]["id"], id);
    let (status, one) = pipeline
        .admin(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(
        (status, &one["configuration"]["oauth.api.secret"]),
        (200, &json!("********"))
    );

    // The raw bytes on the topic hold no secret in clear: not the app secret, the signature key,
    // nor any token Dropbox issued.
    let stored = read_topic(&pipeline.topics.instances, 1, Duration::from_secs(10)).await;
    let bytes = payload_text(&stored[0]);
    assert_valid(
        schemas::INSTANCE_SCHEMA,
        &serde_json::from_str(bytes).unwrap(),
    );
    let mut secrets = dropbox.issued_tokens();
    secrets.extend([app.client_secret.clone(), SIGNATURE_KEY.to_owned()]);
    assert!(
        secrets.len() >= 4,
        "the exchange issued an access and a refresh token"
    );
    for secret in &secrets {
        assert!(
            !bytes.contains(secret.as_str()),
            "a secret is in clear on the instances topic"
        );
    }
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_code_creates_nothing() {
    let pipeline = Pipeline::start().await;
    let app = pipeline.dropbox.create_app(AppKind::User, None);
    let body = instance_body(
        "dropbox",
        &app,
        "not-a-code",
        &pipeline.receiver.url("/hooks"),
    );
    let (status, answer) = pipeline.create_instance(&body).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["field"], "providerData.code");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("invalid_grant"),
        "{answer}"
    );
    let (_, listed) = pipeline.admin(Method::GET, "/instances", None).await;
    assert_eq!(listed, json!([]));
    assert!(
        read_topic(&pipeline.topics.instances, 1, Duration::from_secs(3))
            .await
            .is_empty()
    );
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_wants_the_admin_token_and_names_bad_fields() {
    let pipeline = Pipeline::start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/instances", pipeline.ingest_url);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        http.get(&url)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        http.post(&url)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let app = pipeline.dropbox.create_app(AppKind::User, None);
    let mut body = instance_body("dropbox", &app, "code", "https://example.com/hook");
    body["configuration"]["event.notification.enabled"] = json!("yes");
    let (status, answer) = pipeline.create_instance(&body).await;
    assert_eq!(
        (status, answer["field"].as_str()),
        (400, Some("configuration.event.notification.enabled"))
    );
    body["element"]["key"] = json!("box");
    let (status, answer) = pipeline.create_instance(&body).await;
    assert_eq!(
        (status, answer["field"].as_str()),
        (400, Some("element.key"))
    );
    let (status, _) = pipeline.admin(Method::GET, "/instances/12345", None).await;
    assert_eq!(status, 404);
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_moves_the_callback_and_delete_writes_a_tombstone() {
    let pipeline = Pipeline::start().await;
    let (_, _, id) = pipeline.connected_user().await;
    let path = format!("/instances/{id}");
    let patch = json!({"name": "renamed", "configuration": {
        "event.notification.callback.url": "https://example.com/moved",
        "event.notification.signature.key": "rotated-key",
        "custom.setting": 7}});
    let (status, patched) = pipeline.admin(Method::PATCH, &path, Some(&patch)).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "renamed");
    assert_eq!(
        patched["configuration"]["event.notification.callback.url"],
        "https://example.com/moved"
    );
    assert_eq!(
        patched["configuration"]["event.notification.signature.key"],
        "********"
    );
    assert_eq!(patched["configuration"]["custom.setting"], 7);
    let bad = json!({"configuration": {"event.notification.callback.url": "not a url"}});
    let (status, answer) = pipeline.admin(Method::PATCH, &path, Some(&bad)).await;
    assert_eq!(
        (status, answer["field"].as_str()),
        (400, Some("configuration.event.notification.callback.url"))
    );

    let (status, _) = pipeline.admin(Method::DELETE, &path, None).await;
    assert_eq!(status, 200);
    let (status, _) = pipeline.admin(Method::GET, &path, None).await;
    assert_eq!(status, 404);

    let records = read_topic(&pipeline.topics.instances, 3, Duration::from_secs(10)).await;
    assert_eq!(records.len(), 3, "create, patch, delete");
    let patched_record: Value = serde_json::from_str(payload_text(&records[1])).unwrap();
    assert_eq!(patched_record["name"], "renamed");
    assert!(!payload_text(&records[1]).contains("rotated-key"));
    assert_eq!(records[2].key(), Some(id.to_string().as_bytes()));
    assert!(records[2].payload().is_none(), "DELETE writes a tombstone");
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_instance_asks_dropbox_whose_token_it_is() {
    let pipeline = Pipeline::start().await;
    let app = pipeline.dropbox.create_app(AppKind::User, None);
    let account = pipeline.dropbox.create_account();
    let token = pipeline
        .dropbox
        .generate_access_token(&app.client_id, &account.account_id);
    let body = json!({
        "element": {"key": "dropbox"},
        "configuration": {"authentication.type": "apiKey", "oauth.user.token": token,
            "oauth.api.secret": app.client_secret,
            "event.notification.enabled": true,
            "event.notification.callback.url": pipeline.receiver.url("/hooks")},
        "name": "api key"});
    let (status, instance) = pipeline.create_instance(&body).await;
    assert_eq!(status, 200, "{instance}");
    assert_eq!(instance["accountId"], account.account_id);
    assert_eq!(instance["authenticationType"], "apiKey");
    assert_eq!(instance["configuration"]["oauth.user.token"], "********");
    let stored = read_topic(&pipeline.topics.instances, 1, Duration::from_secs(10)).await;
    assert!(!payload_text(&stored[0]).contains(&token));
    pipeline.stop().await;
}
