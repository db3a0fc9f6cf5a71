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
