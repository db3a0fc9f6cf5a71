//! The whole pipeline at a steady webhook rate: the three stages as processes of their own (the
//! release binaries), the Dropbox simulator and a receiver in this process. Reports the time from
//! ingest's answer to a webhook to the callback that carries its change (p50, p99), and each
//! stage's peak resident memory.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use clap::Args;
use sim::{AppKind, DropboxSim};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

use crate::fixture::{ADMIN_TOKEN, common_args, connect_instance, prefix};

#[derive(Debug, Clone, Args)]
pub struct EndToEndBench {
    /// Webhooks per second.
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Connected accounts the webhooks are spread over.
    #[arg(long, default_value_t = 50)]
    pub accounts: usize,
}

/// When each changed file's webhook was answered, and when its callback arrived.
#[derive(Default)]
struct Timings {
    answered: HashMap<String, Instant>,
    latencies: Vec<Duration>,
}

pub async fn run(bench: EndToEndBench) -> anyhow::Result<()> {
    let prefix = prefix();
    let dropbox = DropboxSim::new();
    let dropbox_url = format!("http://{}", dropbox.spawn().await?);
    let timings = Arc::new(Mutex::new(Timings::default()));
    let callback_url = spawn_receiver(timings.clone()).await?;
    let port = |p: u16| format!("127.0.0.1:{p}");
    let ingest_port = free_port()?;
    let ops_ports = [free_port()?, free_port()?, free_port()?];

    let mut ingest_args = common_args("ingest", &prefix);
    ingest_args.retain(|a| !a.starts_with("--metrics-listen"));
    ingest_args.extend([
        format!("--metrics-listen={}", port(ops_ports[0])),
        format!("--listen={}", port(ingest_port)),
        format!("--admin-token={ADMIN_TOKEN}"),
        format!("--dropbox-api-url={dropbox_url}"),
    ]);
    let mut normalize_args = common_args("normalize", &prefix);
    normalize_args.retain(|a| !a.starts_with("--metrics-listen"));
    normalize_args.extend([
        format!("--metrics-listen={}", port(ops_ports[1])),
        format!("--dropbox-api-url={dropbox_url}"),
        format!("--group={prefix}normalize"),
    ]);
    let mut deliver_args = common_args("deliver", &prefix);
    deliver_args.retain(|a| !a.starts_with("--metrics-listen"));
    deliver_args.extend([
        format!("--metrics-listen={}", port(ops_ports[2])),
        format!("--group={prefix}deliver"),
        "--allow-private-callbacks=true".into(),
    ]);
    let mut stages = Vec::new();
    for args in [&ingest_args, &normalize_args, &deliver_args] {
        stages.push(spawn(args)?);
    }
    for ops in ops_ports {
        wait_ready(&format!("http://{}/readyz", port(ops))).await?;
    }

    let ingest_url = format!("http://{}", port(ingest_port));
    let app = dropbox.create_app(AppKind::User, None);
    let mut accounts = Vec::new();
    for _ in 0..bench.accounts {
        let account = dropbox.create_account().account_id;
        connect_instance(&ingest_url, &dropbox, &app, &account, &callback_url).await?;
        accounts.push(account);
    }

    let http = reqwest::Client::new();
    let webhook_url = format!("{ingest_url}/events/dropbox");
    let total = (bench.rate * bench.seconds) as usize;
    let mut ticker = tokio::time::interval(Duration::from_nanos(1_000_000_000 / bench.rate));
    let mut sends = Vec::with_capacity(total);
    for n in 0..total {
        ticker.tick().await;
        let account = &accounts[n % accounts.len()];
        let file = dropbox.upload(account, &format!("/load/{n}.txt"));
        let file_id = file["id"].as_str().unwrap_or_default().to_owned();
        let body = dropbox.webhook_body(&app.client_id, &[account]);
        let signature = dropbox.sign(&app.client_id, body.as_bytes());
        let (http, url, timings) = (http.clone(), webhook_url.clone(), timings.clone());
        sends.push(tokio::spawn(async move {
            let answer = http
                .post(&url)
                .header("x-dropbox-signature", signature)
                .body(body)
                .send()
                .await;
            let ok = answer.is_ok_and(|r| r.status().is_success());
            if ok {
                timings
                    .lock()
                    .unwrap()
                    .answered
                    .insert(file_id, Instant::now());
            }
            ok
        }));
    }
    let mut accepted = 0;
    for send in sends {
        accepted += usize::from(send.await?);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while timings.lock().unwrap().latencies.len() < accepted && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let peaks: Vec<u64> = stages
        .iter()
        .map(|child| peak_rss_kib(child).unwrap_or(0))
        .collect();
    for mut child in stages {
        let _ = child.kill().await;
    }
    let mut latencies = std::mem::take(&mut timings.lock().unwrap().latencies);
    latencies.sort();
    let at = |p: f64| {
        latencies
            .get(((latencies.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or_default()
    };
    crate::fixture::clean_up(&prefix).await?;
    println!(
        "{} webhooks/s for {} s over {} accounts; stages as release processes:",
        bench.rate, bench.seconds, bench.accounts
    );
    println!(
        "accepted   {accepted} of {total}; changes delivered {}",
        latencies.len()
    );
    println!(
        "latency    p50 {:.1} ms   p99 {:.1} ms   max {:.1} ms (webhook answered -> callback received)",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3
    );
    println!(
        "peak RSS   ingest {} MiB   normalize {} MiB   deliver {} MiB",
        peaks[0] / 1024,
        peaks[1] / 1024,
        peaks[2] / 1024
    );
    Ok(())
}

/// A receiver that records, for each file a callback reports, how long after its webhook it came.
async fn spawn_receiver(timings: Arc<Mutex<Timings>>) -> anyhow::Result<String> {
    async fn receive(State(timings): State<Arc<Mutex<Timings>>>, body: Bytes) -> &'static str {
        let arrived = Instant::now();
        let Ok(notification) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return "ok";
        };
        let mut timings = timings.lock().unwrap();
        for event in notification["message"]["events"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(answered) = event["objectId"]
                .as_str()
                .and_then(|id| timings.answered.remove(id))
            {
                timings
                    .latencies
                    .push(arrived.saturating_duration_since(answered));
            }
        }
        "ok"
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let router = Router::new()
        .route("/hook", post(receive))
        .with_state(timings);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The stage's release binary beside this one.
fn spawn(args: &[String]) -> anyhow::Result<Child> {
    let binary: PathBuf = std::env::current_exe()?.with_file_name(&args[0]);
    anyhow::ensure!(
        binary.exists(),
        "{} is missing: cargo build --release --bins",
        binary.display()
    );
    Ok(Command::new(binary)
        .args(&args[1..])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?)
}

async fn wait_ready(url: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reqwest::get(url)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        anyhow::ensure!(Instant::now() < deadline, "{url} never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Peak resident memory (VmHWM) of a running process, in KiB.
fn peak_rss_kib(child: &Child) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()?)).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
