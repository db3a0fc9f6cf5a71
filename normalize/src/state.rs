//! What normalize remembers per (instance, account): the Dropbox cursor and the objects already
//! reported. Kept in memory and written to the compacted `normalize.state` topic.

use std::collections::HashMap;

use pipeline::element::dropbox::changes::KnownObjects;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountState {
    /// Where the next `list_folder/continue` starts; `None` until the first call.
    pub cursor: Option<String>,
    pub known: KnownObjects,
}

/// The key of an (instance, account) in memory and on the state topic.
pub fn key(instance_id: u64, account: &str) -> String {
    format!("{instance_id}/{account}")
}

#[derive(Default)]
pub struct StateStore {
    accounts: HashMap<String, AccountState>,
}

impl StateStore {
    pub fn get(&self, key: &str) -> AccountState {
        self.accounts.get(key).cloned().unwrap_or_default()
    }

    pub fn put(&mut self, key: String, state: AccountState) {
        self.accounts.insert(key, state);
    }

    /// Applies a record of the state topic; unreadable records are skipped with a warning.
    pub fn apply_record(&mut self, key: &[u8], value: Option<&[u8]>) {
        let Ok(key) = std::str::from_utf8(key) else {
            return;
        };
        match value.map(serde_json::from_slice::<AccountState>) {
            None => {
                self.accounts.remove(key);
            }
            Some(Ok(state)) => self.put(key.to_owned(), state),
            Some(Err(error)) => {
                tracing::warn!(%key, %error, "Skipping an unreadable state record.")
            }
        }
    }

    pub fn len(&self) -> usize {
        self.accounts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_tombstones_remove() {
        let mut store = StateStore::default();
        let state = AccountState {
            cursor: Some("c1".into()),
            known: KnownObjects::default(),
        };
        let bytes = serde_json::to_vec(&state).unwrap();
        store.apply_record(key(1, "dbid:A").as_bytes(), Some(&bytes));
        assert_eq!(store.get("1/dbid:A"), state);
        store.apply_record(b"1/dbid:A", None);
        assert_eq!(store.len(), 0);
    }
}
