//! A stand-in for a customer's callback endpoint: records every POST and answers from a script.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One callback as it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    /// Path and query, e.g. `/hooks/acme?x=1`.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
    }
}

/// How the receiver answers one callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Status(u16),
    StatusWithHeaders(u16, Vec<(String, String)>),
    /// Never answers (the connection stays open until the client gives up).
    Hang,
    /// A redirect status with this `Location`.
    Redirect(u16, String),
}

impl Default for Reply {
    fn default() -> Self {
        Self::Status(200)
    }
}

/// Records every POST to any path; answers the scripted replies in order, then the default (200).
#[derive(Clone, Default)]
pub struct CallbackReceiver {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CallbackReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackReceiver")
            .field("addr", &self.inner.addr.get())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    log: Mutex<Log>,
    arrived: Notify,
    addr: OnceLock<SocketAddr>,
}

#[derive(Default)]
struct Log {
    received: Vec<Received>,
    script: VecDeque<Reply>,
    default: Reply,
}

impl CallbackReceiver {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next requests get these replies, in order, before the default applies again.
    pub fn script(&self, replies: Vec<Reply>) {
        self.lock().script.extend(replies);
    }

    pub fn set_default(&self, reply: Reply) {
        self.lock().default = reply;
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
        let _ = self.inner.addr.set(addr);
        let router = Router::new().fallback(handle).with_state(self.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "callback receiver stopped");
            }
        });
        tracing::info!(%addr, "callback receiver listening");
        Ok(addr)
    }

    /// `http://<addr><path>` of the first server spawned.
    ///
    /// # Panics
    /// If the receiver was not spawned yet.
    pub fn url(&self, path: &str) -> String {
        let addr = self
            .inner
            .addr
            .get()
            .expect("CallbackReceiver::url needs spawn() first");
        format!("http://{addr}{path}")
    }

    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Waits until at least `n` callbacks arrived or `timeout` passed; returns all received so far either way.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.inner.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            {
                let log = self.lock();
                if log.received.len() >= n {
                    return log.received.clone();
                }
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.received();
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        self.inner
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

async fn handle(
    State(receiver): State<CallbackReceiver>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), ToString::to_string);
    let reply = {
        let mut log = receiver.lock();
        log.received.push(Received {
            path,
            headers,
            body,
            at: Instant::now(),
        });
        log.script
            .pop_front()
            .unwrap_or_else(|| log.default.clone())
    };
    receiver.inner.arrived.notify_waiters();
    match reply {
        Reply::Status(status) => status_code(status).into_response(),
        Reply::StatusWithHeaders(status, headers) => {
            let mut response = status_code(status).into_response();
            for (name, value) in headers {
                match (
                    HeaderName::try_from(name.as_str()),
                    HeaderValue::try_from(value.as_str()),
                ) {
                    (Ok(name), Ok(value)) => {
                        response.headers_mut().append(name, value);
                    }
                    _ => tracing::warn!(%name, %value, "skipping an invalid scripted header"),
                }
            }
            response
        }
        Reply::Hang => std::future::pending().await,
        Reply::Redirect(status, location) => match HeaderValue::try_from(location) {
            Ok(location) => (status_code(status), [(header::LOCATION, location)]).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
    }
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Checks an `Elements-Webhook-Signature` header: `sha256=` and the standard-base64 HMAC-SHA256 of the raw body
/// under `key`. Several signatures may be listed (comma or space separated, e.g. during key rotation); any match
/// verifies. Written independently of the sender, in constant time.
pub fn verify_elements_signature(key: &[u8], body: &[u8], header: &str) -> bool {
    header
        .split([',', ' '])
        .filter_map(|part| part.trim().strip_prefix("sha256="))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .any(|signature| {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
            mac.update(body);
            mac.verify_slice(&signature).is_ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(key: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
        mac.update(body);
        format!("sha256={}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn verifies_elements_signatures() {
        let body = br#"{"event":"file.created"}"#;
        let good = sign(b"key", body);
        assert!(verify_elements_signature(b"key", body, &good));
        assert!(!verify_elements_signature(b"other", body, &good));
        assert!(!verify_elements_signature(b"key", b"tampered", &good));
        assert!(verify_elements_signature(
            b"key",
            body,
            &format!("{}, {good}", sign(b"old", body))
        ));
        assert!(!verify_elements_signature(
            b"key",
            body,
            "sha256=not-base64!"
        ));
        assert!(!verify_elements_signature(b"key", body, ""));
    }
}
