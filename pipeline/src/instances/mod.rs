//! Connector instances as every stage sees them: the records of the compacted `instances` topic,
//! secrets opened, indexed by id, by vendor account and by element.

mod catalog;
mod follow;

pub use catalog::InstanceCatalog;
pub use follow::{READINESS, follow};

use schemas::InstanceRecord;

use crate::crypto::{CryptoError, Sealer, Secret};
use crate::element::ElementKey;

/// The configuration keys the pipeline reads (SAP Open Connectors' names).
pub mod keys {
    pub const APP_KEY: &str = "oauth.api.key";
    pub const APP_SECRET: &str = "oauth.api.secret";
    pub const OAUTH_CALLBACK_URL: &str = "oauth.callback.url";
    pub const AUTHENTICATION_TYPE: &str = "authentication.type";
    /// The access token given in the configuration with `authentication.type: apiKey`.
    pub const USER_TOKEN: &str = "oauth.user.token";
    pub const EVENTS_ENABLED: &str = "event.notification.enabled";
    pub const CALLBACK_URL: &str = "event.notification.callback.url";
    pub const SIGNATURE_KEY: &str = "event.notification.signature.key";

    /// Keys whose values are sealed at rest and masked in every answer.
    pub const SECRET_KEYS: [&str; 3] = [APP_SECRET, SIGNATURE_KEY, USER_TOKEN];
}

/// An instance with its secrets opened, as the stages use it.
#[derive(Debug, Clone)]
pub struct Instance {
    pub record: InstanceRecord,
    pub element: ElementKey,
    pub app_secret: Option<Secret>,
    pub signature_key: Option<Secret>,
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
}

#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("unknown element `{0}`")]
    UnknownElement(String),
    #[error("a secret of the instance does not open: {0}")]
    Secret(#[from] CryptoError),
}

impl Instance {
    /// Opens the sealed secrets of `record`.
    pub fn open(record: InstanceRecord, sealer: &Sealer) -> Result<Self, InstanceError> {
        let element = ElementKey::parse(&record.element_key)
            .ok_or_else(|| InstanceError::UnknownElement(record.element_key.clone()))?;
        let open_config = |key: &str| record.config_str(key).map(|v| sealer.open(v)).transpose();
        let auth = &record.authentication;
        Ok(Self {
            element,
            app_secret: open_config(keys::APP_SECRET)?,
            signature_key: open_config(keys::SIGNATURE_KEY)?,
            access_token: sealer.open(&auth.access_token)?,
            refresh_token: auth
                .refresh_token
                .as_deref()
                .map(|t| sealer.open(t))
                .transpose()?,
            record,
        })
    }

    pub fn id(&self) -> u64 {
        self.record.id
    }

    /// Whether events are turned on and have somewhere to go.
    pub fn events_enabled(&self) -> bool {
        self.record.config_bool(keys::EVENTS_ENABLED) == Some(true) && self.callback_url().is_some()
    }

    pub fn callback_url(&self) -> Option<&str> {
        self.record.config_str(keys::CALLBACK_URL)
    }

    pub fn app_key(&self) -> Option<&str> {
        self.record.config_str(keys::APP_KEY)
    }
}
