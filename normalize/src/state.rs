//! What normalize remembers per (instance, account): the Dropbox cursor and the objects already
//! reported. Held per input partition, written to the compacted `normalize.state` topic in the
//! same partition number as the raw records it follows, and read back when a copy is assigned
//! that partition, so any copy can take over any partition.

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

/// The state of the partitions this copy owns.
#[derive(Default)]
pub struct StateStore {
    partitions: HashMap<i32, HashMap<String, AccountState>>,
}

impl StateStore {
    pub fn is_restored(&self, partition: i32) -> bool {
        self.partitions.contains_key(&partition)
    }

    /// Installs a partition's state as read back from the state topic.
    pub fn restore(&mut self, partition: i32, accounts: HashMap<String, AccountState>) {
        self.partitions.insert(partition, accounts);
    }

    /// Drops a partition this copy no longer owns; another copy carries on from the topic.
    pub fn forget(&mut self, partition: i32) {
        self.partitions.remove(&partition);
    }

    /// Takes an account's state out (a fresh one if there is none); `put` hands it back.
    pub fn take(&mut self, partition: i32, key: &str) -> AccountState {
        self.partitions
            .get_mut(&partition)
            .and_then(|accounts| accounts.remove(key))
            .unwrap_or_default()
    }

    pub fn put(&mut self, partition: i32, key: String, state: AccountState) {
        self.partitions
            .entry(partition)
            .or_default()
            .insert(key, state);
    }
}

/// Applies one record of the state topic to a partition's accounts; unreadable records are
/// skipped with a warning.
pub fn apply_record(
    accounts: &mut HashMap<String, AccountState>,
    key: &[u8],
    value: Option<&[u8]>,
) {
    let Ok(key) = std::str::from_utf8(key) else {
        return;
    };
    match value.map(serde_json::from_slice::<AccountState>) {
        None => {
            accounts.remove(key);
        }
        Some(Ok(state)) => {
            accounts.insert(key.to_owned(), state);
        }
        Some(Err(error)) => tracing::warn!(%key, %error, "Skipping an unreadable state record."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_tombstones_remove() {
        let mut accounts = HashMap::new();
        let state = AccountState {
            cursor: Some("c1".into()),
            known: KnownObjects::default(),
        };
        let bytes = serde_json::to_vec(&state).unwrap();
        apply_record(&mut accounts, key(1, "dbid:A").as_bytes(), Some(&bytes));
        let mut store = StateStore::default();
        store.restore(3, accounts.clone());
        assert_eq!(store.take(3, "1/dbid:A"), state);
        assert_eq!(
            store.take(3, "1/dbid:A"),
            AccountState::default(),
            "taken out"
        );
        assert_eq!(store.take(4, "1/dbid:A"), AccountState::default());
        apply_record(&mut accounts, b"1/dbid:A", None);
        assert!(accounts.is_empty());
        store.forget(3);
        assert!(!store.is_restored(3));
    }
}
