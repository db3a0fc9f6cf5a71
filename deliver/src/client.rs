//! The one HTTP client that talks to callback URLs: timeouts, no redirects, and the SSRF filter
//! applied where names are resolved, so the address checked is the address connected to.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

use crate::ssrf::is_global;

/// What one POST came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The status answered, `None` when no answer came.
    pub status: Option<u16>,
    /// A `Retry-After` in seconds, when the receiver sent one.
    pub retry_after: Option<Duration>,
    /// Why no answer came, or why the URL was refused.
    pub error: Option<String>,
}

#[derive(Clone)]
pub struct CallbackClient {
    http: reqwest::Client,
    allow_private: bool,
}

impl CallbackClient {
    pub fn new(
        connect_timeout: Duration,
        timeout: Duration,
        allow_private: bool,
    ) -> reqwest::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pipeline-deliver/", env!("CARGO_PKG_VERSION")));
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(GlobalOnlyResolver));
        }
        Ok(Self {
            http: builder.build()?,
            allow_private,
        })
    }

    /// POSTs `body` as JSON with `headers`; never fails, the outcome says what happened.
    pub async fn post(
        &self,
        url: &str,
        body: Bytes,
        headers: &[(&'static str, String)],
    ) -> Attempt {
        if let Err(reason) = self.check_url(url) {
            return Attempt {
                status: None,
                retry_after: None,
                error: Some(reason),
            };
        }
        let mut header_map = HeaderMap::new();
        header_map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                header_map.insert(HeaderName::from_static(name), value);
            }
        }
        match self
            .http
            .post(url)
            .headers(header_map)
            .body(body)
            .send()
            .await
        {
            Ok(response) => {
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                Attempt {
                    status: Some(response.status().as_u16()),
                    retry_after,
                    error: None,
                }
            }
            Err(error) => Attempt {
                status: None,
                retry_after: None,
                error: Some(describe(&error)),
            },
        }
    }

    /// An IP literal never reaches the resolver, so it is checked here.
    fn check_url(&self, url: &str) -> Result<(), String> {
        let parsed = url::Url::parse(url).map_err(|error| format!("bad callback URL: {error}"))?;
        if self.allow_private {
            return Ok(());
        }
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        match literal {
            Some(ip) if !is_global(ip) => Err(format!("callback address {ip} is not public")),
            _ => Ok(()),
        }
    }
}

/// Resolves names and keeps only global addresses; a name with none is refused.
struct GlobalOnlyResolver;

impl Resolve for GlobalOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| is_global(addr.ip()))
                .collect();
            if allowed.is_empty() {
                let reason = format!("callback host {host} resolves to no public address");
                return Err(reason.into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The chain of causes, so "connection refused" or the SSRF refusal shows, not just "error".
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    use super::*;

    fn client(allow_private: bool) -> CallbackClient {
        CallbackClient::new(
            Duration::from_secs(2),
            Duration::from_secs(5),
            allow_private,
        )
        .unwrap()
    }

    /// A local server answering 200 to anything, and how many connections it saw.
    async fn local_server() -> (u16, tokio::task::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let counted = tokio::spawn(async move {
            let mut connections = 0;
            while let Ok(Ok((mut stream, _))) =
                tokio::time::timeout(Duration::from_millis(500), listener.accept()).await
            {
                connections += 1;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
            connections
        });
        (port, counted)
    }

    #[tokio::test]
    async fn non_public_callbacks_are_refused_before_connecting() {
        let (port, connections) = local_server().await;
        let client = client(false);
        let urls = [
            format!("http://127.0.0.1:{port}/hook"),
            format!("http://[::1]:{port}/hook"),
            format!("http://localhost:{port}/hook"),
            // Refused from the URL alone: nothing is ever sent to these.
            "http://10.0.0.1/hook".to_owned(),
            "http://169.254.169.254/latest/meta-data".to_owned(),
        ];
        for url in &urls {
            let attempt = client.post(url, Bytes::from_static(b"{}"), &[]).await;
            assert_eq!(attempt.status, None, "{url} must be refused");
            let error = attempt.error.unwrap_or_default();
            assert!(
                error.contains("not public") || error.contains("no public address"),
                "{url}: {error}"
            );
        }
        assert_eq!(
            connections.await.unwrap(),
            0,
            "no connection reached the local server"
        );
    }

    #[tokio::test]
    async fn private_callbacks_go_through_when_allowed() {
        let (port, connections) = local_server().await;
        let attempt = client(true)
            .post(
                &format!("http://localhost:{port}/hook"),
                Bytes::from_static(b"{}"),
                &[],
            )
            .await;
        assert_eq!(attempt.status, Some(200), "{:?}", attempt.error);
        assert_eq!(connections.await.unwrap(), 1);
    }
}
