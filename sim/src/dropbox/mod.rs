//! The Dropbox simulator: a cloneable handle on shared state, its HTTP router, and direct control for tests.

mod api;
mod api_error;
mod control;
mod files;
mod ids;
mod listing;
mod model;
mod oauth;
mod state;
mod team;
mod team_info;
mod tokens;
mod users;
mod webhook;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::post;
use tokio::net::TcpListener;

pub use model::{Account, ApiCall, App, AppKind, Member, Team};
pub use webhook::dropbox_signature;

use crate::SimError;
use state::State;

/// Dropbox gives up on a webhook endpoint that takes longer than this.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// A simulated Dropbox: the HTTP API (`/oauth2/token`, `/2/...`), the control API (`/sim/...`), and the same
/// controls as methods. Clones share one state.
///
/// The control methods panic on misuse (an unknown app or account, an invalid path), as a test should fail
/// right there; the control HTTP API answers such mistakes with 4xx instead.
#[derive(Clone)]
pub struct DropboxSim {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    http: reqwest::Client,
    /// Bumped on every access to the state, so autosave can skip an unchanged one.
    touches: AtomicU64,
}

impl std::fmt::Debug for DropboxSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DropboxSim").finish_non_exhaustive()
    }
}

impl Default for DropboxSim {
    fn default() -> Self {
        Self::new()
    }
}

impl DropboxSim {
    pub fn new() -> Self {
        Self::from_state(State::new())
    }

    /// Restores a simulator saved with [`save_state`](Self::save_state); a missing file gives a fresh one.
    pub fn load_state(path: &Path) -> Result<Self, SimError> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Self::from_state(serde_json::from_slice(&bytes)?)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::new()),
            Err(error) => Err(error.into()),
        }
    }

    /// Writes apps, accounts, files, cursors' epochs and tokens (not the call log or pending faults) atomically.
    pub fn save_state(&self, path: &Path) -> Result<(), SimError> {
        // Not through `with_state`: saving must not count as a change for `autosave`.
        let json = serde_json::to_vec(&*self.lock())?;
        let partial = path.with_extension("partial");
        std::fs::write(&partial, json)?;
        std::fs::rename(&partial, path)?;
        Ok(())
    }

    /// Saves the state to `path` every `period` while it changes, until the runtime shuts down.
    pub fn autosave(&self, path: PathBuf, period: Duration) -> tokio::task::JoinHandle<()> {
        let sim = self.clone();
        tokio::spawn(async move {
            let mut saved = sim.inner.touches.load(Ordering::Relaxed);
            loop {
                tokio::time::sleep(period).await;
                let touches = sim.inner.touches.load(Ordering::Relaxed);
                if touches == saved {
                    continue;
                }
                match sim.save_state(&path) {
                    Ok(()) => saved = touches,
                    Err(error) => {
                        tracing::warn!(%error, path = %path.display(), "could not save the state")
                    }
                }
            }
        })
    }

    /// The Dropbox API plus the control API under `/sim/`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/oauth2/token", post(oauth::token))
            .route("/2/{*route}", post(api::rpc))
            .nest("/sim", control::router())
            .with_state(self.clone())
    }

    /// Serves on an ephemeral port of 127.0.0.1 in a background task; returns the address.
    pub async fn spawn(&self) -> std::io::Result<SocketAddr> {
        self.spawn_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
    }

    /// Serves on `addr` in a background task; returns the bound address.
    pub async fn spawn_on(&self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let router = self.router();
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "dropbox simulator stopped");
            }
        });
        tracing::info!(%addr, "dropbox simulator listening");
        Ok(addr)
    }

    pub fn create_app(&self, kind: AppKind, webhook_url: Option<String>) -> App {
        self.with_state(|state| state.create_app(kind, webhook_url))
    }

    #[track_caller]
    pub fn set_webhook_url(&self, client_id: &str, url: &str) {
        expect(self.with_state(|state| state.set_webhook_url(client_id, url)));
    }

    /// Dropbox's registration check: `GET <webhook url>?challenge=…` must echo the challenge with a 200.
    pub async fn verify_webhook(&self, client_id: &str) -> Result<bool, SimError> {
        let url =
            self.with_state(|state| state.app(client_id).map(|app| app.webhook_url.clone()))?;
        let url = url.ok_or_else(|| SimError::NoWebhookUrl(client_id.to_owned()))?;
        webhook::verify(&self.inner.http, &url).await
    }

    pub fn create_account(&self) -> Account {
        self.with_state(State::create_account)
    }

    pub fn create_team(&self, members: usize) -> Team {
        self.with_state(|state| state.create_team(members))
    }

    #[track_caller]
    pub fn add_team_member(&self, team_id: &str) -> Member {
        expect(self.with_state(|state| state.add_team_member(team_id)))
    }

    /// A one-time code, as if `subject` approved the app: an account (`dbid:` or `dbmid:`) for a user app,
    /// a team (`dbtid:`) for a team app. Exchanging it must repeat `redirect_uri` if one is given here.
    #[track_caller]
    pub fn authorization_code(
        &self,
        client_id: &str,
        subject: &str,
        redirect_uri: Option<&str>,
    ) -> String {
        expect(self.with_state(|state| state.authorization_code(client_id, subject, redirect_uri)))
    }

    /// A long-lived access token, as the App Console's "Generate access token" button makes, for `subject`: an
    /// account (`dbid:` or `dbmid:`) for a user app, a team (`dbtid:`) for a team app. It never expires (unless
    /// [`expire_tokens`](Self::expire_tokens) is called) and comes without a refresh token.
    #[track_caller]
    pub fn generate_access_token(&self, client_id: &str, subject: &str) -> String {
        expect(self.with_state(|state| state.generate_access_token(client_id, subject)))
    }

    /// Every access and refresh token issued so far (expired ones and generated ones too), sorted, e.g. to check
    /// that none is stored in clear elsewhere.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.with_state(|state| state.issued_tokens())
    }

    /// Creates or overwrites a file (and any missing parent folders); returns its metadata.
    /// `account_id` may be a `dbid:` or a team member's `dbmid:`.
    #[track_caller]
    pub fn upload(&self, account_id: &str, path: &str) -> serde_json::Value {
        to_json(expect(
            self.with_state(|state| state.upload(account_id, path)),
        ))
    }

    #[track_caller]
    pub fn create_folder(&self, account_id: &str, path: &str) -> serde_json::Value {
        to_json(expect(
            self.with_state(|state| state.create_folder(account_id, path)),
        ))
    }

    /// Deletes a file or a folder and everything in it; returns the metadata it had, like `files/delete_v2`.
    #[track_caller]
    pub fn delete(&self, account_id: &str, path: &str) -> serde_json::Value {
        to_json(expect(
            self.with_state(|state| state.delete(account_id, path)),
        ))
    }

    /// Every cursor issued so far for this account answers 409 `reset` on continue.
    #[track_caller]
    pub fn reset_cursors(&self, account_id: &str) {
        expect(self.with_state(|state| state.reset_cursors(account_id)));
    }

    /// Every access token issued so far answers 401 `expired_access_token`; refresh tokens keep working.
    pub fn expire_tokens(&self) {
        self.with_state(State::expire_tokens);
    }

    /// `expires_in` of tokens issued from now on (default 14400 s); past it they answer `expired_access_token`.
    pub fn set_token_lifetime(&self, secs: u64) {
        self.with_state(|state| state.set_token_lifetime(secs));
    }

    /// The most entries a `list_folder` page holds (default 500; a request's smaller `limit` wins).
    pub fn set_page_size(&self, n: usize) {
        self.with_state(|state| state.set_page_size(n));
    }

    /// The next `n` calls under `/2/` answer `status` instead: 429 like Dropbox's rate limiting (with
    /// `Retry-After`, 1 s unless given), anything else with a plain-text body (and `Retry-After` if given).
    pub fn fail_next(&self, n: usize, status: u16, retry_after: Option<u64>) {
        self.with_state(|state| state.fail_next(n, status, retry_after));
    }

    /// The exact bytes Dropbox would POST for changes in these accounts: `dbid:`s for a user app,
    /// team members (`dbmid:`s, or their `dbid:`s) for a team app, grouped under their teams.
    #[track_caller]
    pub fn webhook_body(&self, client_id: &str, accounts: &[&str]) -> String {
        expect(self.with_state(|state| state.webhook(client_id, accounts))).body
    }

    /// `X-Dropbox-Signature` for `body` under the app's secret.
    #[track_caller]
    pub fn sign(&self, client_id: &str, body: &[u8]) -> String {
        let secret = expect(
            self.with_state(|state| state.app(client_id).map(|app| app.client_secret.clone())),
        );
        dropbox_signature(secret.as_bytes(), body)
    }

    /// POSTs the signed notification to the app's webhook URL; returns the status it answered.
    pub async fn notify(&self, client_id: &str, accounts: &[&str]) -> Result<u16, SimError> {
        let hook = self.with_state(|state| state.webhook(client_id, accounts))?;
        let url = hook
            .url
            .ok_or_else(|| SimError::NoWebhookUrl(client_id.to_owned()))?;
        webhook::deliver(&self.inner.http, &url, hook.body, &hook.signature).await
    }

    /// Every call the Dropbox API answered so far, in order.
    pub fn calls(&self) -> Vec<ApiCall> {
        self.with_state(|state| state.calls().to_vec())
    }

    pub fn clear_calls(&self) {
        self.with_state(State::clear_calls);
    }

    fn from_state(state: State) -> Self {
        let http = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client with rustls and default settings builds");
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                http,
                touches: AtomicU64::new(0),
            }),
        }
    }

    /// Runs `f` under the state's lock; never hold it across an `.await`.
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        self.inner.touches.fetch_add(1, Ordering::Relaxed);
        f(&mut self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[track_caller]
fn expect<T>(result: Result<T, SimError>) -> T {
    result.unwrap_or_else(|error| panic!("DropboxSim: {error}"))
}

fn to_json(metadata: files::Metadata) -> serde_json::Value {
    serde_json::to_value(metadata).expect("metadata serializes to JSON")
}

pub(crate) fn unix_ms() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}
