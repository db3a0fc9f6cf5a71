//! normalize against its baseline: a plain consume-produce copy of the same raw records on the
//! same broker, in the same process. Records are spread over connected accounts that each have
//! a change waiting, as Dropbox notifications would be.

use std::time::{Duration, Instant};

use clap::{Args, Parser};
use futures::future::try_join_all;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::fixture::{Stack, brokers, common_args};

#[derive(Debug, Clone, Args)]
pub struct NormalizeBench {
    /// Raw records to process.
    #[arg(long, default_value_t = 20_000)]
    pub records: usize,
    /// Connected accounts the records are spread over.
    #[arg(long, default_value_t = 100)]
    pub accounts: usize,
}

pub async fn run(bench: NormalizeBench) -> anyhow::Result<()> {
    let stack = Stack::start().await?;
    let mut accounts = Vec::new();
    for _ in 0..bench.accounts {
        let (account, _) = stack.connect("https://example.com/hook").await?;
        stack.dropbox.upload(&account, "/waiting.txt");
        accounts.push(account);
    }
    let (prefix, topics, dropbox_url) = (&stack.prefix, &stack.topics, &stack.dropbox_url);
    produce_raw(&topics.webhooks_raw, &accounts, bench.records).await?;

    let copy_topic = format!("{prefix}copy");
    create_topic(&copy_topic, stack.kafka.topic_partitions).await?;
    let (copy, copy_steady) =
        copy_records(&topics.webhooks_raw, &copy_topic, bench.records).await?;

    let started = Instant::now();
    let settings =
        normalize::Settings::try_parse_from(common_args("normalize", prefix).into_iter().chain([
            format!("--dropbox-api-url={dropbox_url}"),
            format!("--group={prefix}normalize"),
        ]))?;
    let normalize = normalize::Normalize::build(settings).await?;
    let running = tokio::spawn(normalize.run(stack.shutdown.clone()));
    let steady = wait_committed(&format!("{prefix}normalize"), &topics.webhooks_raw).await?;
    let normalized = started.elapsed();
    stack.shutdown.cancel();
    running.await??;

    let per_second = |elapsed: Duration| bench.records as f64 / elapsed.as_secs_f64();
    stack.finish().await?;
    println!(
        "{} raw records over {} accounts, broker on this machine, one process:",
        bench.records, bench.accounts
    );
    let line = |name: &str, steady: f64, total: Duration| {
        let (overall, seconds) = (per_second(total), total.as_secs_f64());
        println!(
            "{name:<10} {steady:>9.0} records/s steady ({overall:.0}/s and {seconds:.2} s counting start-up)"
        );
    };
    line("copy", copy_steady, copy);
    line("normalize", steady, normalized);
    println!(
        "ratio      {:.2} (normalize / plain consume-produce copy, steady)",
        steady / copy_steady
    );
    Ok(())
}

/// Writes `count` raw envelopes, round-robin over `accounts`, as ingest would.
async fn produce_raw(topic: &str, accounts: &[String], count: usize) -> anyhow::Result<()> {
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("linger.ms", "5")
        .create()?;
    let mut sends = Vec::new();
    for n in 0..count {
        let account = &accounts[n % accounts.len()];
        let envelope = schemas::RawEnvelope {
            ingest_id: format!("bench-{n}"),
            element_key: "dropbox".into(),
            received_at: schemas::timestamp::format(time::OffsetDateTime::now_utc()),
            received_at_ms: pipeline::now_ms(),
            account: account.clone(),
            team: None,
            signature: String::new(),
            body: format!(
                "{{\"list_folder\": {{\"accounts\": [\"{account}\"]}}, \"delta\": {{\"users\": [1]}}}}"
            ),
        };
        let payload = serde_json::to_vec(&envelope)?;
        let record = FutureRecord::to(topic).key(account).payload(&payload);
        sends.push(producer.send_result(record).map_err(|(error, _)| error)?);
        if sends.len() >= 10_000 {
            try_join_all(sends.drain(..)).await?;
        }
    }
    try_join_all(sends).await?;
    Ok(())
}

/// The baseline: consume every record and produce it to another topic, acknowledged.
/// The copy's time from start, and its records per second from its first record on.
async fn copy_records(from: &str, to: &str, count: usize) -> anyhow::Result<(Duration, f64)> {
    let started = Instant::now();
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", format!("copy-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&[from])?;
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("enable.idempotence", "true")
        .set("linger.ms", "2")
        .create()?;
    let mut sends = Vec::new();
    let mut first = None;
    for _ in 0..count {
        let message = consumer.recv().await?;
        first.get_or_insert_with(Instant::now);
        let mut record = FutureRecord::<[u8], [u8]>::to(to);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        sends.push(producer.send_result(record).map_err(|(error, _)| error)?);
    }
    try_join_all(sends).await?;
    let first = first.unwrap_or(started);
    Ok((
        started.elapsed(),
        (count - 1) as f64 / first.elapsed().as_secs_f64().max(1e-3),
    ))
}

/// Resolves once `group` has committed the end of every partition of `topic`.
/// Resolves once `group` has committed the end of every partition of `topic`; the records per
/// second from its first commit on (start-up not counted).
async fn wait_committed(group: &str, topic: &str) -> anyhow::Result<f64> {
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", group)
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let partitions: Vec<i32> = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect();
    let ends: Vec<i64> = partitions
        .iter()
        .map(|p| {
            consumer
                .fetch_watermarks(topic, *p, Duration::from_secs(10))
                .map(|(_, high)| high)
        })
        .collect::<Result<_, _>>()?;
    let mut list = TopicPartitionList::new();
    for partition in &partitions {
        list.add_partition(topic, *partition);
    }
    let mut first: Option<(Instant, i64)> = None;
    loop {
        let committed = consumer.committed_offsets(list.clone(), Duration::from_secs(10))?;
        let offsets: Vec<i64> = partitions
            .iter()
            .map(
                |p| match committed.find_partition(topic, *p).map(|p| p.offset()) {
                    Some(Offset::Offset(o)) => o,
                    _ => 0,
                },
            )
            .collect();
        let total: i64 = offsets.iter().sum();
        if first.is_none() && total > 0 {
            first = Some((Instant::now(), total));
        }
        if offsets.iter().zip(&ends).all(|(o, end)| o >= end) {
            let (at, done_then) = first.unwrap_or((Instant::now(), 0));
            let records = (ends.iter().sum::<i64>() - done_then) as f64;
            return Ok(records / at.elapsed().as_secs_f64().max(1e-3));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn create_topic(name: &str, partitions: i32) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()?;
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for result in admin.create_topics([&topic], &AdminOptions::new()).await? {
        result.map_err(|(topic, code)| anyhow::anyhow!("creating {topic}: {code}"))?;
    }
    Ok(())
}
