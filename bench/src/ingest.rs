//! ingest against its baseline: a bare axum handler that checks the same `X-Dropbox-Signature`
//! and answers 200, on the same machine, with the same load, in the same process.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sim::{AppKind, DropboxSim, dropbox_signature};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::fixture::{connect_instance, spawn_ingest};
use crate::load::{self, LoadSettings};

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
    let prefix = crate::fixture::prefix();
    let ingest_url = spawn_ingest(&dropbox_url, &prefix, &shutdown).await?;
    connect_instance(
        &ingest_url,
        &dropbox,
        &app,
        &account.account_id,
        "https://example.com/hook",
    )
    .await?;
    let ingest = load::run(
        &format!("{ingest_url}/events/dropbox"),
        &body,
        &headers,
        &settings,
    )
    .await;
    shutdown.cancel();

    crate::fixture::clean_up(&prefix).await?;
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
