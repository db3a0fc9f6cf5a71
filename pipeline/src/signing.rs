//! Callback signatures: SAP's `Elements-Webhook-Signature` and the Standard Webhooks headers.
//! Pure functions, checked against published test vectors.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const ELEMENTS_SIGNATURE: &str = "elements-webhook-signature";
pub const ELEMENTS_ID: &str = "elements-webhook-id";
pub const WEBHOOK_ID: &str = "webhook-id";
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// Standard Webhooks' prefix for a base64-encoded secret.
const WHSEC_PREFIX: &str = "whsec_";

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// `sha256=<base64(HMAC-SHA256(key, body))>`, SAP Open Connectors' callback signature.
pub fn elements_signature(key: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        BASE64.encode(hmac_sha256(key.as_bytes(), &[body]))
    )
}

/// The Standard Webhooks HMAC key: the base64-decoded part after `whsec_`, else the key's bytes.
pub fn standard_webhooks_secret(key: &str) -> Vec<u8> {
    key.strip_prefix(WHSEC_PREFIX)
        .and_then(|encoded| BASE64.decode(encoded).ok())
        .unwrap_or_else(|| key.as_bytes().to_vec())
}

/// `v1,<base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}"))>`.
pub fn standard_webhooks_signature(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let mac = hmac_sha256(
        secret,
        &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    );
    format!("v1,{}", BASE64.encode(mac))
}

/// Every header a callback carries besides `Content-Type`, in sending order. Signature headers
/// are added only when the instance has a signature key.
pub fn callback_headers(
    key: Option<&str>,
    event_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        (ELEMENTS_ID, event_id.to_owned()),
        (WEBHOOK_ID, event_id.to_owned()),
        (WEBHOOK_TIMESTAMP, timestamp.to_string()),
    ];
    if let Some(key) = key {
        headers.push((ELEMENTS_SIGNATURE, elements_signature(key, body)));
        let secret = standard_webhooks_secret(key);
        headers.push((
            WEBHOOK_SIGNATURE,
            standard_webhooks_signature(&secret, event_id, timestamp, body),
        ));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks reference libraries.
    #[test]
    fn standard_webhooks_reference_vector() {
        let secret = standard_webhooks_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let signature = standard_webhooks_signature(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    /// RFC 4231 test case 2 ("Jefe"), re-encoded in base64.
    #[test]
    fn elements_signature_is_base64_hmac_sha256() {
        assert_eq!(
            elements_signature("Jefe", b"what do ya want for nothing?"),
            "sha256=W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
        );
    }

    #[test]
    fn a_key_without_whsec_prefix_is_used_as_bytes() {
        assert_eq!(standard_webhooks_secret("plain-key"), b"plain-key");
        assert_eq!(standard_webhooks_secret("whsec_aGk="), b"hi");
    }

    #[test]
    fn unsigned_callbacks_carry_ids_only() {
        let names: Vec<_> = callback_headers(None, "e1", 1, b"{}")
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, [ELEMENTS_ID, WEBHOOK_ID, WEBHOOK_TIMESTAMP]);
        let signed = callback_headers(Some("k"), "e1", 1, b"{}");
        assert_eq!(signed.len(), 5);
    }
}
