//! The standardized event notification: exactly what deliver POSTs to a callback URL.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// SAP Open Connectors' event notification (Cloud Elements' published shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: String,
    /// `instance-<id>-<elementKey>-events`.
    pub topic: String,
    pub action: String,
    pub created_date: String,
    pub severity: String,
    pub message: EventMessage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMessage {
    pub element_key: String,
    /// Stable for a given set of changes: receivers de-duplicate on it.
    pub event_id: String,
    pub instance_id: u64,
    /// SAP sends the instance id under both spellings.
    #[serde(rename = "instance_id")]
    pub instance_id_snake: u64,
    pub instance_name: String,
    pub instance_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The vendor's own data: the webhook body and the changes it stood for.
    pub raw: Value,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub date: String,
    pub element_key: String,
    pub event_type: EventType,
    pub object_id: String,
    pub object_type: String,
    pub hub_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EventType {
    Created,
    Updated,
    Deleted,
    Unknown,
}
