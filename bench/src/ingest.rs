//! ingest against its baseline: a bare axum handler that checks the same `X-Dropbox-Signature`
//! and answers 200, on the same machine, with the same load, in the same process.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use clap::Parser;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sim::{AppKind, DropboxSim, dropbox_signature};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::load::{self, LoadSettings};

const ADMIN_TOKEN: &str = "bench-admin";

pub async fn run(settings: LoadSettings) -> anyhow::Result<()> {
    let dropbox = DropboxSim::new();
    let dropbox_url = format!("http://{}", dropbox.spawn().await?);
    let app = dropbox.create_app(AppKind::User, None);
    let account = dropbox.create_account();
    let body = format!(
        "{{\"list_folder\": {{\"accounts\": [\"{}\"]}}, \"delta\": {{\"users\": [1]}}}}",
        account.account_id
    );
    let signature = dropbox_signature(app.client_secret.as_bytes(), body.as_bytes());
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("x-dropbox-signature", signature),
    ];

    let baseline_url = spawn_baseline(app.client_secret.clone()).await?;
    let baseline = load::run(&baseline_url, &body, &headers, &settings).await;

    let shutdown = CancellationToken::new();
    let ingest_url = spawn_ingest(&dropbox_url, &shutdown).await?;
    connect_instance(&ingest_url, &dropbox, &app, &account.account_id).await?;
    let ingest = load::run(
        &format!("{ingest_url}/events/dropbox"),
        &body,
        &headers,
        &settings,
    )
    .await;
    shutdown.cancel();

    println!(
        "{} s at concurrency {}, one process, broker on this machine:",
        settings.seconds, settings.concurrency
    );
    println!("{}", baseline.line("baseline"));
    println!("{}", ingest.line("ingest"));
    println!(
        "ratio      {:.2} (ingest / baseline, webhooks accepted per second)",
        ingest.per_second() / baseline.per_second()
    );
    Ok(())
}

/// The bare handler: read the body, check the signature in constant time, answer.
async fn spawn_baseline(secret: String) -> anyhow::Result<String> {
    let handler = move |headers: HeaderMap, body: Bytes| {
        let secret = secret.clone();
        async move {
            let expected = headers
                .get("x-dropbox-signature")
                .and_then(|v| hex::decode(v.as_bytes()).ok())
                .unwrap_or_default();
            let mut mac =
                Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
            mac.update(&body);
            match mac.verify_slice(&expected) {
                Ok(()) => StatusCode::OK,
                Err(_) => StatusCode::FORBIDDEN,
            }
        }
    };
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/events/dropbox", listener.local_addr()?);
    let router = Router::new().route("/events/{element}", post(handler));
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}

async fn spawn_ingest(dropbox_url: &str, shutdown: &CancellationToken) -> anyhow::Result<String> {
    let brokers = std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let prefix = format!("bench{}.", uuid::Uuid::new_v4().simple());
    let settings = ingest::Settings::try_parse_from([
        "ingest".to_owned(),
        "--listen=127.0.0.1:0".into(),
        "--metrics-listen=127.0.0.1:0".into(),
        format!("--admin-token={ADMIN_TOKEN}"),
        format!("--dropbox-api-url={dropbox_url}"),
        format!("--kafka-brokers={brokers}"),
        format!("--topic-prefix={prefix}"),
        "--secrets-key=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into(),
    ])?;
    let ingest = ingest::Ingest::build(settings).await?;
    let url = format!("http://{}", ingest.local_addr());
    let ops = format!("http://{}/readyz", ingest.ops_addr());
    tokio::spawn(ingest.run(shutdown.clone()));
    while !reqwest::get(&ops)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(url)
}

/// Creates the instance whose app secret signs the benchmark's webhooks.
async fn connect_instance(
    ingest_url: &str,
    dropbox: &DropboxSim,
    app: &sim::App,
    account: &str,
) -> anyhow::Result<()> {
    let code = dropbox.authorization_code(&app.client_id, account, None);
    let body = serde_json::json!({
        "element": {"key": "dropbox"}, "providerData": {"code": code},
        "configuration": {"oauth.api.key": app.client_id, "oauth.api.secret": app.client_secret,
            "event.notification.enabled": true,
            "event.notification.callback.url": "https://example.com/hook"},
        "name": "bench"});
    let response = reqwest::Client::new()
        .post(format!("{ingest_url}/instances"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "creating the instance: {}",
        response.text().await?
    );
    Ok(())
}
