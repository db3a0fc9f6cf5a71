//! The `webhooks.raw` record: one vendor webhook as ingest received it, for one account.

use serde::{Deserialize, Serialize};

/// What ingest writes for each account a webhook names. The key of the record is `account`, so one
/// account's notifications stay in order on one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawEnvelope {
    /// Unique per webhook received; shared by the records of one webhook naming several accounts.
    pub ingest_id: String,
    /// The element the webhook was posted for (`dropbox`, `dropboxbusiness`).
    pub element_key: String,
    /// When ingest received the webhook, RFC 3339.
    pub received_at: String,
    /// Milliseconds since the Unix epoch of `received_at`, for latency measurement downstream.
    pub received_at_ms: i64,
    /// The account this record is about: `dbid:…` for user apps, `dbmid:…` for a team member.
    pub account: String,
    /// The team (`dbtid:…`) a team member belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The vendor's signature header as received.
    pub signature: String,
    /// The request body exactly as received.
    pub body: String,
}
