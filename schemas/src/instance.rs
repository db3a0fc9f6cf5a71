//! The `instances` record: a connector instance as stored, secrets sealed.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A connector instance. Values of secret configuration keys and the tokens are sealed
/// (`enc:v1:…`, AES-256-GCM with the deployment's `SECRETS_KEY`); everything else is plain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceRecord {
    pub id: u64,
    pub name: String,
    pub element_key: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The configuration as given (unknown keys kept), secret values sealed.
    pub configuration: Map<String, Value>,
    pub authentication: Authentication,
    /// The vendor accounts this instance is connected to, with the change cursor taken when the
    /// instance was connected, so that every later change is reported.
    #[serde(default)]
    pub accounts: Vec<ConnectedAccount>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthenticationType {
    #[serde(rename = "oauth2")]
    OAuth2,
    #[serde(rename = "apiKey")]
    ApiKey,
}

/// The vendor credentials of an instance; tokens sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authentication {
    #[serde(rename = "type")]
    pub kind: AuthenticationType,
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the access token expires, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The Dropbox account (`dbid:…`) of a user app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The Dropbox Business team (`dbtid:…`) of a team app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
}

/// One account whose changes the instance reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectedAccount {
    /// `dbid:…` for a user app, `dbmid:…` for a team member.
    pub id: String,
    /// The change cursor taken when the instance was connected.
    pub initial_cursor: String,
}

impl InstanceRecord {
    /// The configuration value `key` as a string, if it is one.
    pub fn config_str(&self, key: &str) -> Option<&str> {
        self.configuration.get(key).and_then(Value::as_str)
    }

    /// The configuration value `key` as a boolean; `"true"`/`"false"` strings count too, as SAP's
    /// API accepts both.
    pub fn config_bool(&self, key: &str) -> Option<bool> {
        match self.configuration.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }
}
