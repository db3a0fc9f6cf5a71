//! The thin path through everything: an instance is created, Dropbox signs a webhook, and the
//! callback receiver gets a standardized notification whose signatures verify.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use schemas::RawEnvelope;
use serde_json::Value;
use sha2::Sha256;
use sim::AppKind;

use crate::harness::{Pipeline, SIGNATURE_KEY, instance_body, payload_text, read_topic};
use crate::schemas_check::assert_valid;

/// HMAC-SHA256 in base64, computed here rather than with the pipeline's own signing code.
fn hmac_base64(key: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    BASE64.encode(mac.finalize().into_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropbox_change_reaches_the_callback_signed() {
    let pipeline = Pipeline::start().await;
    let dropbox = &pipeline.dropbox;
    let app = dropbox.create_app(AppKind::User, None);
    let account = dropbox.create_account();
    let code = dropbox.authorization_code(
        &app.client_id,
        &account.account_id,
        Some(crate::harness::REDIRECT_URI),
    );
    let callback_url = pipeline.receiver.url("/hooks/e2e");

    let (status, instance) = pipeline
        .create_instance(&instance_body("dropbox", &app, &code, &callback_url))
        .await;
    assert_eq!(status, 200, "{instance}");
    let instance_id = instance["id"].as_u64().expect("the id is a JSON number");
    assert_eq!(instance["configuration"]["oauth.api.secret"], "********");
    assert_eq!(
        instance["configuration"]["event.notification.signature.key"],
        "********"
    );

    // A change after the instance was created, then Dropbox's notification about it.
    let file = dropbox.upload(&account.account_id, "/Reports/q4.pdf");
    pipeline.notify(&app, &[&account.account_id]).await;

    let received = pipeline.receiver.wait_for(1, Duration::from_secs(60)).await;
    assert_eq!(
        received.len(),
        1,
        "the callback receiver got the notification"
    );
    let delivery = &received[0];
    assert_eq!(delivery.path, "/hooks/e2e");
    assert_eq!(delivery.header("content-type"), Some("application/json"));

    let expected = format!(
        "sha256={}",
        hmac_base64(SIGNATURE_KEY.as_bytes(), &[&delivery.body])
    );
    assert_eq!(
        delivery.header("elements-webhook-signature"),
        Some(expected.as_str())
    );
    let webhook_id = delivery.header("webhook-id").unwrap();
    let timestamp = delivery.header("webhook-timestamp").unwrap();
    let standard = hmac_base64(
        SIGNATURE_KEY.as_bytes(),
        &[
            webhook_id.as_bytes(),
            b".",
            timestamp.as_bytes(),
            b".",
            &delivery.body,
        ],
    );
    assert_eq!(
        delivery.header("webhook-signature"),
        Some(format!("v1,{standard}").as_str())
    );

    let notification = delivery.json().unwrap();
    assert_valid(schemas::NOTIFICATION_SCHEMA, &notification);
    let message = &notification["message"];
    assert_eq!(message["instanceId"], instance_id);
    assert_eq!(message["instance_id"], instance_id);
    assert_eq!(message["eventId"].as_str(), Some(webhook_id));
    assert_eq!(delivery.header("elements-webhook-id"), Some(webhook_id));
    assert_eq!(
        notification["topic"],
        format!("instance-{instance_id}-dropbox-events")
    );
    let events = message["events"].as_array().unwrap();
    // The upload created /Reports too; both are new to this instance.
    let file_event = events
        .iter()
        .find(|event| event["objectType"] == "files")
        .expect("an event for the file");
    assert_eq!(file_event["eventType"], "CREATED");
    assert_eq!(file_event["objectId"], file["id"]);

    // webhooks.raw holds Dropbox's bytes verbatim, keyed by account.
    let raw = read_topic(&pipeline.topics.webhooks_raw, 1, Duration::from_secs(10)).await;
    assert_eq!(raw.len(), 1);
    let envelope_json: Value = serde_json::from_str(payload_text(&raw[0])).unwrap();
    assert_valid(schemas::RAW_ENVELOPE_SCHEMA, &envelope_json);
    let envelope: RawEnvelope = serde_json::from_value(envelope_json).unwrap();
    assert_eq!(
        rdkafka::Message::key(&raw[0]),
        Some(account.account_id.as_bytes())
    );
    assert_eq!(
        envelope.body,
        dropbox.webhook_body(&app.client_id, &[&account.account_id])
    );

    // The instance record matches its schema and holds no secret in clear.
    let stored = read_topic(&pipeline.topics.instances, 1, Duration::from_secs(10)).await;
    let stored_text = payload_text(&stored[0]);
    assert_valid(
        schemas::INSTANCE_SCHEMA,
        &serde_json::from_str(stored_text).unwrap(),
    );
    for secret in [app.client_secret.as_str(), SIGNATURE_KEY] {
        assert!(!stored_text.contains(secret), "a secret is stored in clear");
    }

    // The event went out exactly as normalize wrote it.
    let events_topic = read_topic(&pipeline.topics.events, 1, Duration::from_secs(10)).await;
    assert_eq!(
        payload_text(&events_topic[0]).as_bytes(),
        &delivery.body[..]
    );
    pipeline.stop().await;
}
