//! Random identifiers shaped like Dropbox's: account, team and member ids, file ids, app keys and tokens.

use rand::Rng;

const URL_SAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn random_chars(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

/// `dbid:AA…`, 40 characters after the prefix like `dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc`.
pub(crate) fn account_id() -> String {
    format!("dbid:AA{}", random_chars(URL_SAFE, 33))
}

pub(crate) fn team_id() -> String {
    format!("dbtid:AA{}", random_chars(URL_SAFE, 33))
}

pub(crate) fn team_member_id() -> String {
    format!("dbmid:AA{}", random_chars(URL_SAFE, 33))
}

/// `id:` and 22 url-safe characters.
pub(crate) fn file_id() -> String {
    format!("id:{}", random_chars(URL_SAFE, 22))
}

/// App keys and secrets: 15 lowercase letters and digits.
pub(crate) fn app_key() -> String {
    random_chars(LOWER_ALNUM, 15)
}

/// Short-lived access tokens start with `sl.` like Dropbox's.
pub(crate) fn access_token() -> String {
    format!("sl.{}", random_chars(URL_SAFE, 136))
}

/// Long-lived access tokens (the App Console's "Generate access token"): 64 characters, a run of `A`s near the
/// start like Dropbox's legacy tokens, and no `sl.` prefix.
pub(crate) fn long_lived_token() -> String {
    format!(
        "{}AAAAAAAAAA{}",
        random_chars(URL_SAFE, 11),
        random_chars(URL_SAFE, 43)
    )
}

pub(crate) fn refresh_token() -> String {
    random_chars(URL_SAFE, 64)
}

pub(crate) fn authorization_code() -> String {
    random_chars(URL_SAFE, 43)
}

pub(crate) fn number(range: std::ops::Range<u64>) -> u64 {
    rand::rng().random_range(range)
}

/// Revisions are hex strings of at least 9 digits; a per-account salt keeps them distinct across accounts.
pub(crate) fn rev_salt() -> u32 {
    rand::rng().random_range(0x1000_0000..=u32::MAX)
}

/// Dropbox appends a varying number of dots to `error_summary` so clients parse `error` instead.
pub(crate) fn summary_dots() -> &'static str {
    ["..", "...", "...."][rand::rng().random_range(0..3)]
}
