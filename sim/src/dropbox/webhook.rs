//! Dropbox webhook notifications: the exact body bytes, their signature, delivery, and the verification challenge.

use std::fmt::Write as _;

use hmac::{Hmac, Mac};
use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use sha2::Sha256;

use super::ids;
use super::model::Account;
use crate::SimError;

pub(crate) const SIGNATURE_HEADER: &str = "X-Dropbox-Signature";
const DROPBOX_USER_AGENT: &str = "DropboxWebhooks/1.0";

/// `X-Dropbox-Signature`: lowercase hex HMAC-SHA256 of the raw body, keyed with the app secret.
pub fn dropbox_signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A user app's body, with Python's separators as Dropbox sends it:
/// `{"list_folder": {"accounts": ["dbid:…"]}, "delta": {"users": [12345678]}}`.
pub(crate) fn user_body(accounts: &[&Account]) -> String {
    let ids = list(accounts.iter().map(|a| py_str(&a.account_id)));
    let uids = list(accounts.iter().map(|a| a.uid.to_string()));
    format!(r#"{{"list_folder": {{"accounts": {ids}}}, "delta": {{"users": {uids}}}}}"#)
}

/// A team app's body, members grouped under their teams:
/// `{"list_folder": {"teams": {"dbtid:…": ["dbmid:…"]}}, "delta": {"teams": {"dbtid:…": ["dbmid:…"]}}}`.
pub(crate) fn team_body(teams: &[(&str, Vec<&str>)]) -> String {
    let teams = teams
        .iter()
        .map(|(team, members)| {
            format!(
                "{}: {}",
                py_str(team),
                list(members.iter().map(|m| py_str(m)))
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(r#"{{"list_folder": {{"teams": {{{teams}}}}}, "delta": {{"teams": {{{teams}}}}}}}"#)
}

fn list(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii`: non-ASCII as `\uXXXX` escapes).
fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
    out
}

/// POSTs a notification like Dropbox does and returns the status the endpoint answered.
pub(crate) async fn deliver(
    http: &reqwest::Client,
    url: &str,
    body: String,
    signature: &str,
) -> Result<u16, SimError> {
    let response = http
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, DROPBOX_USER_AGENT)
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    tracing::info!(%url, status, "webhook notification delivered");
    Ok(status)
}

/// Dropbox's check when a webhook URI is registered: `GET <uri>?challenge=…` must answer 200 echoing the challenge.
pub(crate) async fn verify(http: &reqwest::Client, url: &str) -> Result<bool, SimError> {
    let challenge = ids::authorization_code();
    let response = http
        .get(url)
        .query(&[("challenge", challenge.as_str())])
        .header(USER_AGENT, DROPBOX_USER_AGENT)
        .send()
        .await?;
    let status = response.status();
    let body = response.text().await?;
    let verified = status.is_success() && body == challenge;
    tracing::info!(%url, %status, verified, "webhook verification challenge");
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_dropbox_test_vector() {
        assert_eq!(
            dropbox_signature(b"the_secret", br#"{"delta": {"users": [12345]}}"#),
            "0a8c16b085420b960dc78664279fe09e936a2a01b1f91064869d9e77dfd64529"
        );
    }

    #[test]
    fn user_body_uses_python_separators() {
        let account = Account {
            account_id: "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc".into(),
            email: String::new(),
            uid: 12345678,
        };
        assert_eq!(
            user_body(&[&account]),
            r#"{"list_folder": {"accounts": ["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]}, "delta": {"users": [12345678]}}"#
        );
        assert_eq!(
            user_body(&[]),
            r#"{"list_folder": {"accounts": []}, "delta": {"users": []}}"#
        );
    }

    #[test]
    fn team_body_groups_members_under_teams() {
        let body = team_body(&[
            ("dbtid:T1", vec!["dbmid:A", "dbmid:B"]),
            ("dbtid:T2", vec!["dbmid:C"]),
        ]);
        assert_eq!(
            body,
            r#"{"list_folder": {"teams": {"dbtid:T1": ["dbmid:A", "dbmid:B"], "dbtid:T2": ["dbmid:C"]}}, "delta": {"teams": {"dbtid:T1": ["dbmid:A", "dbmid:B"], "dbtid:T2": ["dbmid:C"]}}}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(parsed["list_folder"]["teams"]["dbtid:T2"][0], "dbmid:C");
    }

    #[test]
    fn strings_are_escaped_like_python() {
        assert_eq!(py_str("a\"b\\c\né"), r#""a\"b\\c\n\u00e9""#);
        assert_eq!(py_str("😀"), r#""\ud83d\ude00""#);
    }
}
