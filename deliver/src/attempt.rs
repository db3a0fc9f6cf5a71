//! One try of one event: sign with the instance's key as it is now, POST, and decide what
//! comes next.

use std::time::Duration;

use bytes::Bytes;
use pipeline::instances::InstanceCatalog;
use pipeline::signing;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::client::CallbackClient;
use crate::retry::{RetrySchedule, Verdict, verdict};

/// One try, as recorded on retry records and in `events.dlq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptLog {
    pub at: String,
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An event on its way, with what happened to it so far.
#[derive(Debug, Clone)]
pub struct Event {
    pub instance_id: u64,
    pub body: Bytes,
    pub event_id: String,
    pub received_at_ms: Option<i64>,
    /// Retries already made: 0 for an event from `events`, `n` from retry tier `n`.
    pub retries: usize,
    pub attempts: Vec<AttemptLog>,
}

/// What comes after a try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Delivered {
        status: u16,
    },
    /// The instance is gone or has events turned off: nothing to do.
    Skipped(&'static str),
    /// Wait in retry tier `tier` until `not_before_ms`.
    Retry {
        tier: usize,
        not_before_ms: i64,
    },
    /// Give up and park in `events.dlq`.
    Park {
        reason: String,
    },
}

pub struct Attempter<'a> {
    pub catalog: &'a InstanceCatalog,
    pub client: &'a CallbackClient,
    pub schedule: &'a RetrySchedule,
}

impl Attempter<'_> {
    /// Tries `event` once and records the try on it.
    pub async fn try_once(&self, event: &mut Event) -> Next {
        // The instance as it is now: a moved URL or rotated key applies to what is pending.
        let Some(instance) = self.catalog.get(event.instance_id) else {
            return Next::Skipped("skipped_instance_gone");
        };
        let Some(url) = instance
            .callback_url()
            .filter(|_| instance.events_enabled())
        else {
            return Next::Skipped("skipped_disabled");
        };
        let key = instance.signature_key.as_ref().map(|key| key.expose());
        let now = OffsetDateTime::now_utc();
        let headers =
            signing::callback_headers(key, &event.event_id, now.unix_timestamp(), &event.body);
        let attempt = self.client.post(url, event.body.clone(), &headers).await;
        event.attempts.push(AttemptLog {
            at: schemas::timestamp::format(now),
            status: attempt.status,
            error: attempt.error.clone(),
        });
        match verdict(attempt.status) {
            Verdict::Delivered => Next::Delivered {
                status: attempt.status.unwrap_or(200),
            },
            Verdict::Stop => Next::Park {
                reason: "the receiver answered 410 Gone".into(),
            },
            Verdict::Retry => self.retry_or_park(event, attempt.retry_after),
        }
    }

    /// An event whose endpoint is at its concurrency limit for too long counts as a failed try.
    pub fn endpoint_busy(&self, event: &mut Event) -> Next {
        event.attempts.push(AttemptLog {
            at: schemas::timestamp::format(OffsetDateTime::now_utc()),
            status: None,
            error: Some("the endpoint was busy with other deliveries".into()),
        });
        self.retry_or_park(event, None)
    }

    fn retry_or_park(&self, event: &Event, retry_after: Option<Duration>) -> Next {
        match self
            .schedule
            .delay(event.retries, retry_after, &mut rand::rng())
        {
            Some(wait) => Next::Retry {
                tier: event.retries + 1,
                not_before_ms: pipeline::now_ms() + wait.as_millis() as i64,
            },
            None => Next::Park {
                reason: format!("no success after {} attempts", event.attempts.len()),
            },
        }
    }
}
