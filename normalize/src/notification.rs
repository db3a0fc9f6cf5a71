//! Building standardized notifications from one account's changes. Pure.

use pipeline::element::dropbox::changes::{Change, HUB_KEY};
use pipeline::instances::Instance;
use schemas::{Event, EventMessage, Notification};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// SAP's limit of event objects in one webhook notification.
pub const MAX_EVENTS_PER_NOTIFICATION: usize = 20;

/// One notification per 20 changes. `webhook` is the vendor body, carried in `raw`; `now` dates
/// the notification and changes that carry no date of their own.
pub fn build(
    instance: &Instance,
    account: &str,
    webhook: &Value,
    changes: &[Change],
    now: &str,
) -> Vec<Notification> {
    let element_key = instance.element.as_str();
    changes
        .chunks(MAX_EVENTS_PER_NOTIFICATION)
        .map(|chunk| {
            let entries: Vec<&Value> = chunk.iter().map(|change| &change.entry).collect();
            let event_id = event_id(instance.id(), account, &entries);
            let events = chunk
                .iter()
                .map(|change| Event {
                    date: change.date.clone().unwrap_or_else(|| now.to_owned()),
                    element_key: element_key.to_owned(),
                    event_type: change.event_type,
                    object_id: change.object_id.clone(),
                    object_type: change.object_type.as_str().to_owned(),
                    hub_key: HUB_KEY.to_owned(),
                })
                .collect();
            Notification {
                id: event_id.clone(),
                topic: format!("instance-{}-{element_key}-events", instance.id()),
                action: "create".to_owned(),
                created_date: now.to_owned(),
                severity: "medium".to_owned(),
                message: EventMessage {
                    element_key: element_key.to_owned(),
                    event_id,
                    instance_id: instance.id(),
                    instance_id_snake: instance.id(),
                    instance_name: instance.record.name.clone(),
                    instance_tags: instance.record.tags.clone(),
                    account_id: Some(account.to_owned()),
                    raw: json!({"webhook": webhook, "entries": entries}),
                    events,
                },
            }
        })
        .collect()
}

/// The same instance, account and entries always give the same id, so a notification built
/// again after a crash carries the id receivers already saw. Formatted like a UUID.
fn event_id(instance_id: u64, account: &str, entries: &[&Value]) -> String {
    let mut hash = Sha256::new();
    hash.update(instance_id.to_be_bytes());
    hash.update(account.as_bytes());
    for entry in entries {
        hash.update(entry.to_string().as_bytes());
    }
    let hex = hex::encode(&hash.finalize()[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use pipeline::crypto::{Sealer, Secret};
    use pipeline::element::dropbox::changes::KnownObjects;
    use schemas::{Authentication, AuthenticationType, EventType, InstanceRecord};

    use super::*;

    fn instance() -> Instance {
        let sealer = Sealer::new(
            &"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
                .parse()
                .unwrap(),
        );
        let record = InstanceRecord {
            id: 42,
            name: "docs".into(),
            element_key: "dropbox".into(),
            tags: vec!["t".into()],
            configuration: Default::default(),
            authentication: Authentication {
                kind: AuthenticationType::OAuth2,
                access_token: sealer.seal(&Secret::new("token")),
                refresh_token: None,
                expires_at: None,
                account_id: Some("dbid:A".into()),
                team_id: None,
            },
            accounts: vec![],
            created_at: "2026-12-04T00:00:00Z".into(),
            updated_at: "2026-12-04T00:00:00Z".into(),
        };
        Instance::open(record, &sealer).unwrap()
    }

    fn files(count: usize) -> Vec<Change> {
        let entries: Vec<Value> = (0..count)
            .map(|i| json!({".tag": "file", "id": format!("id:{i}"), "path_lower": format!("/f{i}")}))
            .collect();
        KnownObjects::default().apply(&entries)
    }

    #[test]
    fn forty_five_changes_make_three_notifications() {
        let built = build(
            &instance(),
            "dbid:A",
            &json!({}),
            &files(45),
            "2026-12-04T15:00:00Z",
        );
        let sizes: Vec<usize> = built.iter().map(|n| n.message.events.len()).collect();
        assert_eq!(sizes, [20, 20, 5]);
        assert_eq!(built[0].topic, "instance-42-dropbox-events");
        assert_eq!(built[2].message.events[4].object_id, "id:44");
        assert_eq!(built[0].message.events[0].event_type, EventType::Created);
        assert_eq!(built[0].message.events[0].date, "2026-12-04T15:00:00Z");
    }

    #[test]
    fn event_ids_are_stable_and_distinct_per_chunk() {
        let first = build(
            &instance(),
            "dbid:A",
            &json!({}),
            &files(25),
            "2026-12-04T15:00:00Z",
        );
        let again = build(
            &instance(),
            "dbid:A",
            &json!({}),
            &files(25),
            "2026-12-04T16:00:00Z",
        );
        assert_eq!(first[0].message.event_id, again[0].message.event_id);
        assert_ne!(first[0].message.event_id, first[1].message.event_id);
        assert_eq!(first[0].id, first[0].message.event_id);
    }
}
