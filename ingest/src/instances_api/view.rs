//! How an instance is shown to the operator: SAP's shape, every secret masked.

use pipeline::instances::keys;
use schemas::{AuthenticationType, InstanceRecord};
use serde_json::{Value, json};

const MASK: &str = "********";

/// Whether an operator sent back a masked value (meaning: keep the stored one).
pub fn is_mask(value: &str) -> bool {
    value == MASK
}

pub fn render(record: &InstanceRecord) -> Value {
    let mut configuration = record.configuration.clone();
    for key in keys::SECRET_KEYS {
        if let Some(value) = configuration.get_mut(key) {
            *value = json!(MASK);
        }
    }
    let auth = &record.authentication;
    let authentication_type = match auth.kind {
        AuthenticationType::OAuth2 => "oauth2",
        AuthenticationType::ApiKey => "apiKey",
    };
    json!({
        "id": record.id,
        "name": record.name,
        "element": {"key": record.element_key},
        "tags": record.tags,
        "configuration": configuration,
        "authenticationType": authentication_type,
        "accountId": auth.account_id,
        "teamId": auth.team_id,
        "accounts": record.accounts.iter().map(|a| &a.id).collect::<Vec<_>>(),
        "eventsEnabled": record.config_bool(keys::EVENTS_ENABLED).unwrap_or(false),
        "createdDate": record.created_at,
        "updatedDate": record.updated_at,
    })
}

#[cfg(test)]
mod tests {
    use schemas::Authentication;
    use serde_json::Map;

    use super::*;

    #[test]
    fn secrets_are_masked_and_the_rest_shown() {
        let mut configuration = Map::new();
        configuration.insert("oauth.api.secret".into(), json!("enc:v1:AAAA"));
        configuration.insert(
            "event.notification.signature.key".into(),
            json!("enc:v1:BBBB"),
        );
        configuration.insert("oauth.api.key".into(), json!("client-id"));
        let record = InstanceRecord {
            id: 42,
            name: "n".into(),
            element_key: "dropbox".into(),
            tags: vec![],
            configuration,
            authentication: Authentication {
                kind: AuthenticationType::OAuth2,
                access_token: "enc:v1:CCCC".into(),
                refresh_token: Some("enc:v1:DDDD".into()),
                expires_at: None,
                account_id: Some("dbid:A".into()),
                team_id: None,
            },
            accounts: vec![],
            created_at: "2026-12-04T00:00:00Z".into(),
            updated_at: "2026-12-04T00:00:00Z".into(),
        };
        let shown = render(&record);
        let text = shown.to_string();
        assert!(!text.contains("enc:v1"), "{text}");
        assert_eq!(shown["id"], 42);
        assert_eq!(shown["configuration"]["oauth.api.key"], "client-id");
        assert_eq!(shown["configuration"]["oauth.api.secret"], MASK);
    }
}
