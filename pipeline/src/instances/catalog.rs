//! The in-memory catalog of instances, kept current from the `instances` topic.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::watch;

use super::Instance;
use crate::element::ElementKey;

/// Instances by id, with indexes the hot paths need: by vendor account (normalize's routing) and
/// the distinct app secrets per element (ingest's signature check).
pub struct InstanceCatalog {
    state: RwLock<State>,
    caught_up: watch::Sender<bool>,
}

#[derive(Default)]
struct State {
    by_id: HashMap<u64, Arc<Instance>>,
    by_account: HashMap<String, Vec<u64>>,
    /// element → app secret → how many instances use it.
    app_secrets: HashMap<ElementKey, HashMap<String, usize>>,
}

impl Default for InstanceCatalog {
    fn default() -> Self {
        Self {
            state: RwLock::default(),
            caught_up: watch::Sender::new(false),
        }
    }
}

impl InstanceCatalog {
    /// Puts (`Some`) or removes (`None`) the instance with `id`.
    pub fn apply(&self, id: u64, instance: Option<Instance>) {
        let mut state = self.write();
        if let Some(old) = state.by_id.remove(&id) {
            state.unindex(&old);
        }
        if let Some(instance) = instance {
            let instance = Arc::new(instance);
            state.index(&instance);
            state.by_id.insert(id, instance);
        }
    }

    pub fn get(&self, id: u64) -> Option<Arc<Instance>> {
        self.read().by_id.get(&id).cloned()
    }

    /// Every instance, by id.
    pub fn list(&self) -> Vec<Arc<Instance>> {
        let mut all: Vec<_> = self.read().by_id.values().cloned().collect();
        all.sort_by_key(|instance| instance.id());
        all
    }

    /// The instances of `element` connected to the vendor `account`.
    pub fn for_account(&self, element: ElementKey, account: &str) -> Vec<Arc<Instance>> {
        let state = self.read();
        let Some(ids) = state.by_account.get(account) else {
            return Vec::new();
        };
        ids.iter()
            .filter_map(|id| state.by_id.get(id))
            .filter(|instance| instance.element == element)
            .cloned()
            .collect()
    }

    /// Whether any instance of `element` is connected to the vendor `account`.
    pub fn has_account(&self, element: ElementKey, account: &str) -> bool {
        let state = self.read();
        state.by_account.get(account).is_some_and(|ids| {
            ids.iter()
                .filter_map(|id| state.by_id.get(id))
                .any(|instance| instance.element == element)
        })
    }

    /// Runs `check` over the distinct app secrets of `element`'s instances, under a read lock.
    pub fn with_app_secrets<R>(
        &self,
        element: ElementKey,
        check: impl FnOnce(&mut dyn Iterator<Item = &str>) -> R,
    ) -> R {
        let state = self.read();
        let mut secrets = state
            .app_secrets
            .get(&element)
            .into_iter()
            .flat_map(|secrets| secrets.keys().map(String::as_str));
        check(&mut secrets)
    }

    /// Marks the catalog as holding everything the topic held when the stage started.
    pub fn set_caught_up(&self) {
        self.caught_up.send_replace(true);
    }

    pub fn is_caught_up(&self) -> bool {
        *self.caught_up.borrow()
    }

    /// Resolves once the catalog has caught up with the topic.
    pub async fn wait_caught_up(&self) {
        let mut caught_up = self.caught_up.subscribe();
        let _ = caught_up.wait_for(|caught_up| *caught_up).await;
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    fn index(&mut self, instance: &Instance) {
        for account in accounts_of(instance) {
            self.by_account
                .entry(account)
                .or_default()
                .push(instance.id());
        }
        if let Some(secret) = &instance.app_secret {
            let secrets = self.app_secrets.entry(instance.element).or_default();
            *secrets.entry(secret.expose().to_owned()).or_default() += 1;
        }
    }

    fn unindex(&mut self, instance: &Instance) {
        for account in accounts_of(instance) {
            if let Some(ids) = self.by_account.get_mut(&account) {
                ids.retain(|id| *id != instance.id());
                if ids.is_empty() {
                    self.by_account.remove(&account);
                }
            }
        }
        if let Some(secret) = &instance.app_secret
            && let Some(secrets) = self.app_secrets.get_mut(&instance.element)
            && let Some(count) = secrets.get_mut(secret.expose())
        {
            *count -= 1;
            if *count == 0 {
                secrets.remove(secret.expose());
            }
        }
    }
}

/// The vendor accounts an instance answers for: its connected accounts and members, its team.
fn accounts_of(instance: &Instance) -> Vec<String> {
    let auth = &instance.record.authentication;
    let mut accounts: Vec<String> = instance
        .record
        .accounts
        .iter()
        .map(|account| account.id.clone())
        .chain(auth.account_id.clone())
        .chain(auth.team_id.clone())
        .collect();
    accounts.sort();
    accounts.dedup();
    accounts
}

#[cfg(test)]
mod tests {
    use schemas::{Authentication, AuthenticationType, ConnectedAccount, InstanceRecord};
    use serde_json::json;

    use super::*;
    use crate::crypto::{Sealer, Secret};

    fn instance(sealer: &Sealer, id: u64, account: &str, secret: &str) -> Instance {
        let mut configuration = serde_json::Map::new();
        configuration.insert(
            "oauth.api.secret".into(),
            json!(sealer.seal(&Secret::new(secret))),
        );
        let record = InstanceRecord {
            id,
            name: format!("i{id}"),
            element_key: "dropbox".into(),
            tags: vec![],
            configuration,
            authentication: Authentication {
                kind: AuthenticationType::OAuth2,
                access_token: sealer.seal(&Secret::new("token")),
                refresh_token: None,
                expires_at: None,
                account_id: Some(account.into()),
                team_id: None,
            },
            accounts: vec![ConnectedAccount {
                id: account.into(),
                initial_cursor: "c0".into(),
            }],
            created_at: "2026-12-04T00:00:00Z".into(),
            updated_at: "2026-12-04T00:00:00Z".into(),
        };
        Instance::open(record, sealer).unwrap()
    }

    fn secrets(catalog: &InstanceCatalog) -> Vec<String> {
        let mut all = catalog.with_app_secrets(ElementKey::Dropbox, |secrets| {
            secrets.map(str::to_owned).collect::<Vec<_>>()
        });
        all.sort();
        all
    }

    #[test]
    fn indexes_follow_puts_and_deletes() {
        let sealer = Sealer::new(
            &"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
                .parse()
                .unwrap(),
        );
        let catalog = InstanceCatalog::default();
        catalog.apply(1, Some(instance(&sealer, 1, "dbid:A", "s1")));
        catalog.apply(2, Some(instance(&sealer, 2, "dbid:A", "s1")));
        catalog.apply(3, Some(instance(&sealer, 3, "dbid:B", "s2")));
        assert_eq!(catalog.for_account(ElementKey::Dropbox, "dbid:A").len(), 2);
        assert!(
            catalog
                .for_account(ElementKey::DropboxBusiness, "dbid:A")
                .is_empty()
        );
        assert_eq!(secrets(&catalog), ["s1", "s2"]);

        catalog.apply(3, None);
        catalog.apply(1, Some(instance(&sealer, 1, "dbid:C", "s1")));
        assert_eq!(catalog.for_account(ElementKey::Dropbox, "dbid:A").len(), 1);
        assert_eq!(catalog.for_account(ElementKey::Dropbox, "dbid:C").len(), 1);
        assert_eq!(secrets(&catalog), ["s1"]);
        assert_eq!(catalog.list().len(), 2);
    }
}
