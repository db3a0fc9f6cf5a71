//! The records that cross stage boundaries, as Rust types, with the JSON Schemas that fix them.
//!
//! The schemas (`schemas/*.schema.json`) are the contract for outside tools; the types are how the
//! stages read and write them. Tests validate records the stages really emit against the schemas.

mod envelope;
mod instance;
mod notification;

pub use envelope::RawEnvelope;
pub use instance::{Authentication, AuthenticationType, ConnectedAccount, InstanceRecord};
pub use notification::{Event, EventMessage, EventType, Notification};

/// JSON Schema of a `webhooks.raw` record value.
pub const RAW_ENVELOPE_SCHEMA: &str = include_str!("../raw-envelope.schema.json");
/// JSON Schema of an `instances` record value.
pub const INSTANCE_SCHEMA: &str = include_str!("../instance.schema.json");
/// JSON Schema of an `events` record value: the notification a callback receives.
pub const NOTIFICATION_SCHEMA: &str = include_str!("../notification.schema.json");

/// RFC 3339 timestamps in UTC with second precision, as SAP's payloads show them.
pub mod timestamp {
    use time::format_description::well_known::Rfc3339;
    use time::{OffsetDateTime, UtcOffset};

    /// Formats `at` as e.g. `2026-12-04T15:04:05Z`.
    pub fn format(at: OffsetDateTime) -> String {
        let at = at
            .to_offset(UtcOffset::UTC)
            .replace_nanosecond(0)
            .unwrap_or(at);
        at.format(&Rfc3339).unwrap_or_default()
    }

    /// Parses an RFC 3339 timestamp.
    pub fn parse(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
        OffsetDateTime::parse(text, &Rfc3339)
    }
}
