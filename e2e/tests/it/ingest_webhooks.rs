//! ingest's answer to every kind of webhook, and what each one left on `webhooks.raw`.

use std::time::Duration;

use rdkafka::Message;
use sim::dropbox_signature;

use crate::harness::{Options, Pipeline, payload_text, read_topic};

/// A user-app notification naming `accounts`, with Dropbox's separators.
fn notification(accounts: &[&str]) -> String {
    let quoted: Vec<String> = accounts.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        "{{\"list_folder\": {{\"accounts\": [{}]}}, \"delta\": {{\"users\": [1]}}}}",
        quoted.join(", ")
    )
}

/// Every key on `webhooks.raw` once `marker` (the last account written) has arrived.
async fn raw_keys_up_to(pipeline: &Pipeline, marker: &str) -> Vec<String> {
    let records = read_topic(
        &pipeline.topics.webhooks_raw,
        usize::MAX,
        Duration::from_secs(5),
    )
    .await;
    let keys: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8_lossy(r.key().unwrap_or_default()).into_owned())
        .collect();
    assert!(
        keys.iter().any(|k| k == marker),
        "{marker} was not written: {keys:?}"
    );
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_challenge_is_echoed_as_plain_text() {
    let pipeline = Pipeline::start().await;
    let http = reqwest::Client::new();
    let url = format!(
        "{}/events/dropbox?challenge=Zm9v-bar_42",
        pipeline.ingest_url
    );
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/plain");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(response.text().await.unwrap(), "Zm9v-bar_42");

    let missing = http
        .get(format!("{}/events/dropbox", pipeline.ingest_url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    let unknown = http
        .get(format!("{}/events/box?challenge=x", pipeline.ingest_url))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    // Dropbox's own check, as the App Console runs it.
    let app = pipeline.dropbox.create_app(sim::AppKind::User, None);
    pipeline
        .dropbox
        .set_webhook_url(&app.client_id, &pipeline.webhook_url("dropbox"));
    assert!(
        pipeline
            .dropbox
            .verify_webhook(&app.client_id)
            .await
            .unwrap()
    );
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_webhooks_are_answered_and_write_nothing() {
    let pipeline = Pipeline::start().await;
    let (app, account, _) = pipeline.connected_user().await;
    let secret = app.client_secret.as_bytes();
    let body = notification(&["dbid:refused"]);
    let signed = dropbox_signature(secret, body.as_bytes());
    let path = "/events/dropbox";

    assert_eq!(
        pipeline.post_webhook(path, body.clone(), None).await,
        403,
        "no signature"
    );
    let wrong = dropbox_signature(b"another secret", body.as_bytes());
    assert_eq!(
        pipeline
            .post_webhook(path, body.clone(), Some(&wrong))
            .await,
        403,
        "wrong key"
    );
    let reserialized = body.replace(", ", ",").replace(": ", ":");
    assert_eq!(
        pipeline
            .post_webhook(path, reserialized, Some(&signed))
            .await,
        403,
        "the signature covers the exact bytes"
    );
    let uppercase = signed.to_uppercase();
    assert_eq!(
        pipeline
            .post_webhook(path, body.clone(), Some(&uppercase))
            .await,
        403,
        "Dropbox sends lowercase hex"
    );
    for garbage in [
        "not json",
        "{\"hello\": 1}",
        "{\"list_folder\": {\"accounts\": [42]}}",
    ] {
        let signature = dropbox_signature(secret, garbage.as_bytes());
        assert_eq!(
            pipeline.post_webhook(path, garbage, Some(&signature)).await,
            400,
            "{garbage}"
        );
    }
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(1024 * 1024));
    let signature = dropbox_signature(secret, huge.as_bytes());
    assert_eq!(
        pipeline.post_webhook(path, huge, Some(&signature)).await,
        413
    );
    assert_eq!(
        pipeline
            .post_webhook("/events/box", body.clone(), Some(&signed))
            .await,
        404
    );

    // One accepted webhook after them all: it is the only record.
    let good = notification(&[&account.account_id]);
    let signature = dropbox_signature(secret, good.as_bytes());
    assert_eq!(
        pipeline.post_webhook(path, good, Some(&signature)).await,
        200
    );
    let keys = raw_keys_up_to(&pipeline, &account.account_id).await;
    assert_eq!(keys, std::slice::from_ref(&account.account_id));
    let refused = pipeline
        .metric(
            pipeline.ops.ingest,
            "ingest_webhooks_total{outcome=\"bad_signature\"}",
        )
        .await;
    assert_eq!(refused, 4.0);
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_webhooks_are_written_per_account_verbatim() {
    let pipeline = Pipeline::start().await;
    let (app, account, _) = pipeline.connected_user().await;
    let body = notification(&[&account.account_id, "dbid:nobody-we-know"]);
    let signature = dropbox_signature(app.client_secret.as_bytes(), body.as_bytes());
    // SAP's path too.
    let status = pipeline
        .post_webhook(
            "/elements/api-v2/events/dropbox",
            body.clone(),
            Some(&signature),
        )
        .await;
    assert_eq!(status, 200);

    let records = read_topic(&pipeline.topics.webhooks_raw, 2, Duration::from_secs(10)).await;
    let mut keys: Vec<&[u8]> = records.iter().map(|r| r.key().unwrap()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [account.account_id.as_bytes(), b"dbid:nobody-we-know"]
    );
    for record in &records {
        let envelope: schemas::RawEnvelope = serde_json::from_str(payload_text(record)).unwrap();
        assert_eq!(envelope.body, body, "the body is kept byte for byte");
        assert_eq!(envelope.signature, signature);
        assert_eq!(envelope.element_key, "dropbox");
        assert_eq!(envelope.account.as_bytes(), record.key().unwrap());
    }
    let unknown = pipeline
        .metric(pipeline.ops.ingest, "ingest_unknown_accounts_total")
        .await;
    assert_eq!(unknown, 1.0, "the account no instance has is counted");
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    let pipeline = Pipeline::start_with(Options::ingest_args(&["--read-timeout=1s"])).await;
    let (app, _, _) = pipeline.connected_user().await;
    let address = pipeline.ingest_url.trim_start_matches("http://").to_owned();
    let body = notification(&["dbid:slow"]);
    let signature = dropbox_signature(app.client_secret.as_bytes(), body.as_bytes());

    // A body that stops halfway is answered 408 once the read deadline passes.
    let mut stalled_body = TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /events/dropbox HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n\
         X-Dropbox-Signature: {signature}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stalled_body.write_all(head.as_bytes()).await.unwrap();
    stalled_body
        .write_all(&body.as_bytes()[..10])
        .await
        .unwrap();
    let mut answer = String::new();
    let read = tokio::time::timeout(
        Duration::from_secs(5),
        stalled_body.read_to_string(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "the server answered within the deadline");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // A request head that never ends: the connection is closed.
    let mut stalled_head = TcpStream::connect(&address).await.unwrap();
    stalled_head
        .write_all(b"POST /events/dropbox HTTP/1.1\r\nHost: ingest\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let closed =
        tokio::time::timeout(Duration::from_secs(5), stalled_head.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "the server hung up on a head that never ended"
    );

    assert!(
        read_topic(&pipeline.topics.webhooks_raw, 1, Duration::from_secs(2))
            .await
            .is_empty()
    );
    pipeline.stop().await;
}
