//! A closed-loop HTTP load: `concurrency` clients each POST, wait for the answer, and POST again,
//! for a fixed time. Reports throughput and answer-time percentiles.

use std::time::{Duration, Instant};

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct LoadSettings {
    /// Seconds each measured run lasts (after a one-second warm-up).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

/// What one run measured.
pub struct Report {
    pub ok: usize,
    pub failed: usize,
    pub elapsed: Duration,
    /// Answer times of successful requests, sorted.
    latencies: Vec<Duration>,
}

impl Report {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[index]
    }

    pub fn line(&self, name: &str) -> String {
        format!(
            "{name:<10} {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ok {:>7}   failed {}",
            self.per_second(),
            self.percentile(0.50).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            self.ok,
            self.failed,
        )
    }
}

/// POSTs `body` with `headers` to `url` from `settings.concurrency` clients for `settings.seconds`.
pub async fn run(
    url: &str,
    body: &str,
    headers: &[(&str, String)],
    settings: &LoadSettings,
) -> Report {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(settings.concurrency)
        .build()
        .expect("a plain HTTP client builds");
    let warm_up = Instant::now() + Duration::from_secs(1);
    let end = warm_up + Duration::from_secs(settings.seconds);
    let workers: Vec<_> = (0..settings.concurrency)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.to_owned(), body.to_owned());
            let headers: Vec<(String, String)> = headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            tokio::spawn(async move {
                let (mut latencies, mut failed) = (Vec::new(), 0);
                loop {
                    let started = Instant::now();
                    if started >= end {
                        return (latencies, failed);
                    }
                    let mut request = client.post(&url).body(body.clone());
                    for (name, value) in &headers {
                        request = request.header(name, value);
                    }
                    let ok = matches!(request.send().await, Ok(r) if r.status().is_success());
                    if started < warm_up {
                        continue;
                    }
                    match ok {
                        true => latencies.push(started.elapsed()),
                        false => failed += 1,
                    }
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failed = 0;
    for worker in workers {
        let (mut worker_latencies, worker_failed) =
            worker.await.expect("a load worker never panics");
        latencies.append(&mut worker_latencies);
        failed += worker_failed;
    }
    latencies.sort();
    Report {
        ok: latencies.len(),
        failed,
        elapsed: Duration::from_secs(settings.seconds),
        latencies,
    }
}
