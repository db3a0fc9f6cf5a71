//! Asking Dropbox what changed for one (instance, account) since a cursor: follows `has_more`,
//! re-lists from the root after a `reset`, and refreshes an expired access token.

use std::collections::HashMap;
use std::sync::Mutex;

use pipeline::crypto::Secret;
use pipeline::element::dropbox::api::{AppCredentials, DropboxApi, DropboxError, ListFolderPage};
use pipeline::instances::Instance;
use serde_json::Value;

/// The entries since the cursor, and the cursor to start from next time.
pub struct Fetched {
    pub entries: Vec<Value>,
    pub cursor: String,
}

pub struct Resolver {
    api: DropboxApi,
    /// Access tokens refreshed since the instance was stored, by instance id.
    refreshed: Mutex<HashMap<u64, Secret>>,
}

impl Resolver {
    pub fn new(api: DropboxApi) -> Self {
        Self {
            api,
            refreshed: Mutex::default(),
        }
    }

    pub async fn changes_since(
        &self,
        instance: &Instance,
        account: &str,
        cursor: &str,
    ) -> Result<Fetched, DropboxError> {
        match self.fetch(instance, account, cursor).await {
            Err(DropboxError::ExpiredToken) => {
                self.refresh(instance).await?;
                self.fetch(instance, account, cursor).await
            }
            result => result,
        }
    }

    async fn fetch(
        &self,
        instance: &Instance,
        account: &str,
        cursor: &str,
    ) -> Result<Fetched, DropboxError> {
        let token = self.token(instance);
        // Team apps act on one member at a time.
        let member = account.starts_with("dbmid:").then_some(account);
        let first = match self.api.list_folder_continue(&token, cursor, member).await {
            Err(DropboxError::Reset) => {
                tracing::warn!(instance_id = instance.id(), %account, "Cursor was reset; listing again.");
                self.api.list_folder(&token, member).await?
            }
            page => page?,
        };
        let mut entries = Vec::new();
        let mut page: ListFolderPage = first;
        loop {
            entries.append(&mut page.entries);
            if !page.has_more {
                return Ok(Fetched {
                    entries,
                    cursor: page.cursor,
                });
            }
            page = self
                .api
                .list_folder_continue(&token, &page.cursor, member)
                .await?;
        }
    }

    fn token(&self, instance: &Instance) -> Secret {
        let refreshed = self.refreshed.lock().unwrap_or_else(|p| p.into_inner());
        refreshed
            .get(&instance.id())
            .cloned()
            .unwrap_or_else(|| instance.access_token.clone())
    }

    async fn refresh(&self, instance: &Instance) -> Result<(), DropboxError> {
        let (Some(refresh_token), Some(client_secret), Some(client_id)) = (
            &instance.refresh_token,
            &instance.app_secret,
            instance.app_key(),
        ) else {
            return Err(DropboxError::ExpiredToken);
        };
        let app = AppCredentials {
            client_id,
            client_secret,
        };
        let grant = self.api.refresh(&app, refresh_token).await?;
        tracing::info!(
            instance_id = instance.id(),
            "Refreshed an expired access token."
        );
        self.refreshed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(instance.id(), Secret::new(grant.access_token));
        Ok(())
    }
}
