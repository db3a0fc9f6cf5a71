//! Dropbox webhook bodies and their `X-Dropbox-Signature`. Pure: no I/O.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::element::WebhookError;

pub const SIGNATURE_HEADER: &str = "x-dropbox-signature";

/// One account a notification names: a user (`dbid:…`), or a team member (`dbmid:…`) with its
/// team, or a whole team (`dbtid:…`) when no member is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRef {
    pub account: String,
    pub team: Option<String>,
}

pub fn signature_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(SIGNATURE_HEADER)?.to_str().ok()
}

/// Whether the signature header is the lowercase hex HMAC-SHA256 of the exact `body` bytes under
/// one of `secrets`. The comparison is constant-time (`Mac::verify_slice`).
pub fn verify<'a>(
    secrets: impl IntoIterator<Item = &'a str>,
    headers: &HeaderMap,
    body: &[u8],
) -> bool {
    let Some(expected) = signature_header(headers).and_then(decode_lower_hex) else {
        return false;
    };
    secrets.into_iter().any(|secret| {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    })
}

/// Dropbox sends lowercase hex only; anything else is not its signature.
fn decode_lower_hex(text: &str) -> Option<Vec<u8>> {
    let valid = text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    valid.then(|| hex::decode(text).ok()).flatten()
}

#[derive(Deserialize)]
struct Body {
    list_folder: Option<ListFolder>,
    delta: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct ListFolder {
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    teams: BTreeMap<String, Vec<String>>,
}

/// The accounts a notification names, from `list_folder` (`delta.users` holds legacy numeric ids
/// and is not used). A body with only `delta` names no account.
pub fn accounts(body: &[u8]) -> Result<Vec<AccountRef>, WebhookError> {
    let body: Body =
        serde_json::from_slice(body).map_err(|error| WebhookError::NotJson(error.to_string()))?;
    let Some(list_folder) = body.list_folder else {
        return match body.delta {
            Some(_) => Ok(Vec::new()),
            None => Err(WebhookError::NotANotification(
                "neither `list_folder` nor `delta` is present",
            )),
        };
    };
    let mut refs = Vec::new();
    for account in list_folder.accounts {
        check_prefix(&account, "dbid:")?;
        refs.push(AccountRef {
            account,
            team: None,
        });
    }
    for (team, members) in list_folder.teams {
        check_prefix(&team, "dbtid:")?;
        if members.is_empty() {
            refs.push(AccountRef {
                account: team.clone(),
                team: Some(team),
            });
            continue;
        }
        for member in members {
            check_prefix(&member, "dbmid:")?;
            refs.push(AccountRef {
                account: member,
                team: Some(team.clone()),
            });
        }
    }
    Ok(refs)
}

fn check_prefix(id: &str, prefix: &str) -> Result<(), WebhookError> {
    if id.starts_with(prefix) && id.len() > prefix.len() {
        Ok(())
    } else {
        Err(WebhookError::NotANotification(
            "an account id has the wrong form",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        headers
    }

    /// The vector from Dropbox's documentation and sample apps.
    #[test]
    fn dropbox_reference_vector_verifies() {
        let body = br#"{"delta": {"users": [12345]}}"#;
        let headers = signed("0a8c16b085420b960dc78664279fe09e936a2a01b1f91064869d9e77dfd64529");
        assert!(verify(["other", "the_secret"], &headers, body));
        assert!(!verify(["other"], &headers, body));
        assert!(!verify(
            ["the_secret"],
            &headers,
            br#"{"delta":{"users":[12345]}}"#
        ));
    }

    #[test]
    fn uppercase_or_missing_signatures_fail() {
        let body = br#"{"delta": {"users": [12345]}}"#;
        let upper = signed("0A8C16B085420B960DC78664279FE09E936A2A01B1F91064869D9E77DFD64529");
        assert!(!verify(["the_secret"], &upper, body));
        assert!(!verify(["the_secret"], &HeaderMap::new(), body));
    }

    #[test]
    fn user_notifications_name_accounts() {
        let body =
            br#"{"list_folder": {"accounts": ["dbid:A", "dbid:B"]}, "delta": {"users": [1, 2]}}"#;
        let refs = accounts(body).unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(
            refs[1],
            AccountRef {
                account: "dbid:B".into(),
                team: None
            }
        );
    }

    #[test]
    fn team_notifications_name_members_with_their_team() {
        let body = br#"{"list_folder": {"teams": {"dbtid:T": ["dbmid:1", "dbmid:2"], "dbtid:U": []}}, "delta": {"teams": {}}}"#;
        let refs = accounts(body).unwrap();
        assert_eq!(
            refs,
            [
                AccountRef {
                    account: "dbmid:1".into(),
                    team: Some("dbtid:T".into())
                },
                AccountRef {
                    account: "dbmid:2".into(),
                    team: Some("dbtid:T".into())
                },
                AccountRef {
                    account: "dbtid:U".into(),
                    team: Some("dbtid:U".into())
                },
            ]
        );
    }

    #[test]
    fn bodies_that_are_not_notifications_are_refused() {
        assert!(matches!(
            accounts(b"not json"),
            Err(WebhookError::NotJson(_))
        ));
        assert!(accounts(br#"{"hello": 1}"#).is_err());
        assert!(accounts(br#"{"list_folder": {"accounts": ["12345"]}}"#).is_err());
        assert_eq!(accounts(br#"{"delta": {"users": [1]}}"#), Ok(Vec::new()));
    }
}
