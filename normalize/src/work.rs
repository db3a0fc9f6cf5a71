//! Turning a batch of raw records into what the batch must write: notifications, new state,
//! records to retry later and dead letters. Dropbox is asked here; Kafka is not written here.
//!
//! A raw record only says "this account changed", and the cursor says from where: records for
//! the same account in one batch are resolved once, and re-resolving is harmless, which is what
//! makes deferring a record to `normalize.retry` safe.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use pipeline::element::ElementKey;
use pipeline::element::dropbox::api::DropboxError;
use pipeline::instances::{Instance, InstanceCatalog};
use schemas::{Notification, RawEnvelope};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::notification;
use crate::resolve::Resolver;
use crate::state::{self, AccountState, StateStore};

const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// After this many deferrals a raw record is dead-lettered: Dropbox failed for it for hours.
pub const MAX_ATTEMPTS: u32 = 24;

/// One consumed raw record.
pub struct Input {
    pub partition: i32,
    pub offset: i64,
    pub key: Vec<u8>,
    pub payload: Option<Vec<u8>>,
    /// How many times it was put off before (from the retry header).
    pub attempt: u32,
}

/// Everything one batch writes, in one transaction.
#[derive(Default)]
pub struct Outputs {
    /// (instance id, notification, ingest receipt ms) for `events`.
    pub events: Vec<(u64, Notification, i64)>,
    /// (partition, key, state) for `normalize.state`.
    pub state: Vec<(i32, String, AccountState)>,
    /// State taken from the store for the batch and not changed by it: it goes back, unwritten.
    pub unchanged: Vec<(i32, String, AccountState)>,
    /// Raw records to try again later: (key, payload, attempt).
    pub retries: Vec<(Vec<u8>, Vec<u8>, u32)>,
    /// Raw records written again, one per team member, for team-wide notifications.
    pub fan_out: Vec<(String, Vec<u8>)>,
    /// (key, value) for `webhooks.dlq`.
    pub dead_letters: Vec<(Vec<u8>, Value)>,
    pub no_instance: usize,
    pub dropbox_retries: usize,
}

/// What `plan` needs besides the batch.
pub struct Planner<'a> {
    pub catalog: &'a InstanceCatalog,
    pub resolver: &'a Resolver,
    /// Each job takes its account's state out (no copy of the known objects), and the batch's
    /// outputs hand it back; an aborted batch makes the stage re-read its partitions instead.
    pub store: &'a mut StateStore,
    /// How long one account may be retried within a batch before it is put off.
    pub retry_budget: Duration,
    /// Accounts resolved at once.
    pub concurrency: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("interrupted by shutdown")]
pub struct Interrupted;

/// One (instance, account) to resolve.
struct Job {
    instance: Arc<Instance>,
    account: String,
    envelope: Arc<RawEnvelope>,
    webhook: Arc<Value>,
    input: usize,
    held: Held,
}

/// An account's state while a job has it: where it goes back.
struct Held {
    partition: i32,
    key: String,
    state: AccountState,
}

enum JobOutcome {
    Done {
        held: Held,
        changed: bool,
        notifications: Vec<Notification>,
        received_at_ms: i64,
        retries: usize,
    },
    PutOff {
        held: Held,
        input: usize,
        reason: String,
        retries: usize,
    },
    Failed {
        held: Held,
        input: usize,
        reason: String,
    },
    Interrupted,
}

impl Planner<'_> {
    pub async fn plan(
        &mut self,
        inputs: &[Input],
        shutdown: &CancellationToken,
    ) -> Result<Outputs, Interrupted> {
        let mut outputs = Outputs::default();
        // Latest record per (partition, account): one resolution covers them all.
        let mut accounts: BTreeMap<(i32, String), (usize, Arc<RawEnvelope>)> = BTreeMap::new();
        for (index, input) in inputs.iter().enumerate() {
            match parse(input) {
                Ok(envelope) if envelope.account.starts_with("dbtid:") => {
                    self.fan_out(&envelope, &mut outputs);
                }
                Ok(envelope) => {
                    accounts.insert(
                        (input.partition, envelope.account.clone()),
                        (index, Arc::new(envelope)),
                    );
                }
                Err(reason) => outputs.dead_letters.push(dead_letter(input, &reason)),
            }
        }
        let mut jobs = Vec::new();
        for ((partition, account), (input, envelope)) in accounts {
            let Some(element) = ElementKey::parse(&envelope.element_key) else {
                let reason = format!("unknown element `{}`", envelope.element_key);
                outputs
                    .dead_letters
                    .push(dead_letter(&inputs[input], &reason));
                continue;
            };
            let instances: Vec<_> = self
                .catalog
                .for_account(element, &account)
                .into_iter()
                .filter(|instance| instance.events_enabled())
                .collect();
            if instances.is_empty() {
                outputs.no_instance += 1;
                continue;
            }
            let webhook =
                Arc::new(serde_json::from_str(&envelope.body).unwrap_or(json!(envelope.body)));
            for instance in instances {
                let key = state::key(instance.id(), &account);
                let state = self.store.take(partition, &key);
                let held = Held {
                    partition,
                    key,
                    state,
                };
                jobs.push(Job {
                    instance,
                    account: account.clone(),
                    envelope: envelope.clone(),
                    webhook: webhook.clone(),
                    input,
                    held,
                });
            }
        }
        let this = &*self;
        let mut results =
            futures::stream::iter(jobs.into_iter().map(|job| this.run(job, shutdown)))
                .buffer_unordered(self.concurrency.max(1));
        let mut put_off = BTreeMap::new();
        while let Some(outcome) = results.next().await {
            match outcome {
                JobOutcome::Done {
                    held,
                    changed,
                    notifications,
                    received_at_ms,
                    retries,
                } => {
                    let instance_id = notifications.first().map(|n| n.message.instance_id);
                    if let Some(instance_id) = instance_id {
                        outputs.events.extend(
                            notifications
                                .into_iter()
                                .map(|n| (instance_id, n, received_at_ms)),
                        );
                    }
                    let Held {
                        partition,
                        key,
                        state,
                    } = held;
                    match changed {
                        true => outputs.state.push((partition, key, state)),
                        false => outputs.unchanged.push((partition, key, state)),
                    }
                    outputs.dropbox_retries += retries;
                }
                JobOutcome::PutOff {
                    held,
                    input,
                    reason,
                    retries,
                } => {
                    outputs
                        .unchanged
                        .push((held.partition, held.key, held.state));
                    outputs.dropbox_retries += retries;
                    put_off.insert(input, reason);
                }
                JobOutcome::Failed {
                    held,
                    input,
                    reason,
                } => {
                    outputs
                        .unchanged
                        .push((held.partition, held.key, held.state));
                    outputs
                        .dead_letters
                        .push(dead_letter(&inputs[input], &reason));
                }
                JobOutcome::Interrupted => return Err(Interrupted),
            }
        }
        for (input, reason) in put_off {
            let input = &inputs[input];
            if input.attempt + 1 >= MAX_ATTEMPTS {
                let reason = format!("{reason}, {MAX_ATTEMPTS} times");
                outputs.dead_letters.push(dead_letter(input, &reason));
                continue;
            }
            tracing::warn!(partition = input.partition, offset = input.offset, %reason, "Putting a raw record off for later.");
            let payload = input.payload.clone().unwrap_or_default();
            outputs
                .retries
                .push((input.key.clone(), payload, input.attempt + 1));
        }
        Ok(outputs)
    }

    /// A team-wide record (no member named) becomes one record per connected member, so each
    /// member's changes are resolved in that member's partition, where its state lives.
    fn fan_out(&self, envelope: &RawEnvelope, outputs: &mut Outputs) {
        let Some(element) = ElementKey::parse(&envelope.element_key) else {
            return;
        };
        let mut members: Vec<String> = self
            .catalog
            .for_account(element, &envelope.account)
            .iter()
            .flat_map(|instance| instance.record.accounts.iter().map(|a| a.id.clone()))
            .collect();
        members.sort();
        members.dedup();
        for member in members {
            let record = RawEnvelope {
                account: member.clone(),
                ..envelope.clone()
            };
            let payload = serde_json::to_vec(&record).expect("an envelope serializes");
            outputs.fan_out.push((member, payload));
        }
    }

    async fn run(&self, job: Job, shutdown: &CancellationToken) -> JobOutcome {
        let Job {
            instance,
            account,
            envelope,
            webhook,
            input,
            mut held,
        } = job;
        let state = &mut held.state;
        let initial = instance
            .record
            .accounts
            .iter()
            .find(|a| a.id == account)
            .map(|a| a.initial_cursor.clone());
        let Some(cursor) = state.cursor.clone().or(initial) else {
            let reason = format!("instance {} has no cursor for {account}", instance.id());
            return JobOutcome::Failed {
                held,
                input,
                reason,
            };
        };
        let started = Instant::now();
        let mut backoff = Duration::from_millis(200);
        let mut retries = 0;
        let fetched = loop {
            let wait = match self
                .resolver
                .changes_since(&instance, &account, &cursor)
                .await
            {
                Ok(fetched) => break fetched,
                Err(DropboxError::RateLimited { retry_after }) => retry_after,
                Err(error) if error.is_transient() => backoff,
                Err(error) => {
                    let reason = format!("instance {}: {error}", instance.id());
                    return JobOutcome::Failed {
                        held,
                        input,
                        reason,
                    };
                }
            };
            if started.elapsed() + wait > self.retry_budget {
                let reason = format!(
                    "Dropbox kept failing for instance {} and {account}",
                    instance.id()
                );
                return JobOutcome::PutOff {
                    held,
                    input,
                    reason,
                    retries,
                };
            }
            retries += 1;
            tracing::warn!(instance_id = instance.id(), %account, ?wait, "Dropbox call failed; retrying.");
            tokio::select! {
                _ = shutdown.cancelled() => return JobOutcome::Interrupted,
                _ = tokio::time::sleep(wait) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        };
        let changes = state.known.apply(&fetched.entries);
        let moved = state.cursor.as_deref() != Some(fetched.cursor.as_str());
        state.cursor = Some(fetched.cursor);
        // Nothing to write when nothing changed: most triggers of a busy account.
        let changed = moved || !changes.is_empty();
        let now = schemas::timestamp::format(OffsetDateTime::now_utc());
        let notifications = notification::build(&instance, &account, &webhook, &changes, &now);
        // ingest_id leads back to the webhook, event_ids on to the deliveries.
        let event_ids: Vec<&str> = notifications
            .iter()
            .map(|n| n.message.event_id.as_str())
            .collect();
        tracing::info!(
            ingest_id = %envelope.ingest_id,
            instance_id = instance.id(),
            %account,
            changes = changes.len(),
            event_ids = ?event_ids,
            "Normalized account changes."
        );
        JobOutcome::Done {
            held,
            changed,
            notifications,
            received_at_ms: envelope.received_at_ms,
            retries,
        }
    }
}

fn parse(input: &Input) -> Result<RawEnvelope, String> {
    let payload = input.payload.as_deref().ok_or("the record has no value")?;
    serde_json::from_slice(payload).map_err(|error| format!("not a raw envelope: {error}"))
}

/// A raw record that can never be normalized, with why, for `webhooks.dlq`.
fn dead_letter(input: &Input, reason: &str) -> (Vec<u8>, Value) {
    tracing::error!(partition = input.partition, offset = input.offset, %reason, "Dead-lettering a raw record.");
    let value = json!({
        "reason": reason,
        "partition": input.partition,
        "offset": input.offset,
        "failedAt": schemas::timestamp::format(OffsetDateTime::now_utc()),
        "record": input.payload.as_deref().map(String::from_utf8_lossy),
    });
    (input.key.clone(), value)
}
