//! Sending `tls_config.server_name` as the TLS SNI, as Prometheus and
//! Alertmanager do.
//!
//! reqwest takes the SNI from the URL's host and offers no override, so an
//! HTTPS request of a client with a `server_name` goes to a URL whose host
//! is that name, through a client that resolves the name to the original
//! host's addresses; the `Host` header stays the original one. Each
//! original address gets its own client, so a pooled connection never
//! serves another host.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use parking_lot::Mutex;
use reqwest::header::HOST;
use reqwest::{Method, Url};

use super::error::{HttpClientError, SniError};

/// Builds the client with `name` resolving to `addrs`.
type BuildPinned = dyn Fn(&str, &[SocketAddr]) -> Result<reqwest::Client, HttpClientError> + Send + Sync;

/// Clients of one configuration, one per original authority (`host:port`).
pub struct SniClients {
    server_name: String,
    build: Box<BuildPinned>,
    clients: Mutex<HashMap<String, (Vec<SocketAddr>, reqwest::Client)>>,
}

/// More distinct hosts than this in one client's life: the cache starts
/// over rather than grow with service-discovery churn.
const MAX_CACHED_CLIENTS: usize = 4096;

impl SniClients {
    /// `build(name, addrs)` must return a client that resolves `name` to
    /// `addrs` and is otherwise the ordinary client.
    pub fn new(
        server_name: String,
        build: impl Fn(&str, &[SocketAddr]) -> Result<reqwest::Client, HttpClientError> + Send + Sync + 'static,
    ) -> Self {
        SniClients {
            server_name,
            build: Box::new(build),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The request to send for `url`: `None` (use the ordinary client) for
    /// plain HTTP or when the URL's host already is the server name, else
    /// re-addressed as described above.
    pub async fn request(
        &self,
        method: Method,
        url: &str,
    ) -> Result<Option<reqwest::RequestBuilder>, SniError> {
        let mut parsed = Url::parse(url).map_err(SniError::InvalidUrl)?;
        if parsed.scheme() != "https" || parsed.host_str() == Some(self.server_name.as_str()) {
            return Ok(None);
        }
        let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
            return Err(SniError::NoHost);
        };
        let authority = match parsed.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        // host_str() writes an IPv6 address in brackets.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let mut addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|source| SniError::Resolve {
                    host: bare.to_string(),
                    source,
                })?
                .collect(),
        };
        addrs.sort();
        let client = self.client_for(&authority, addrs)?;
        parsed
            .set_host(Some(&self.server_name))
            .map_err(|source| SniError::ServerNameNotHost {
                name: self.server_name.clone(),
                source,
            })?;
        Ok(Some(client.request(method, parsed).header(HOST, authority)))
    }

    /// The cached client of `authority`, rebuilt when its addresses changed.
    fn client_for(
        &self,
        authority: &str,
        addrs: Vec<SocketAddr>,
    ) -> Result<reqwest::Client, HttpClientError> {
        let mut clients = self.clients.lock();
        if let Some((known, client)) = clients.get(authority)
            && *known == addrs
        {
            return Ok(client.clone());
        }
        let client = (self.build)(&self.server_name, &addrs)?;
        if clients.len() >= MAX_CACHED_CLIENTS {
            clients.clear();
        }
        clients.insert(authority.to_string(), (addrs, client.clone()));
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clients() -> SniClients {
        SniClients::new("target.example".into(), |name, addrs| {
            reqwest::Client::builder()
                .resolve_to_addrs(name, addrs)
                .build()
                .map_err(HttpClientError::Build)
        })
    }

    #[tokio::test]
    async fn only_https_to_another_host_is_re_addressed() {
        crate::http_client::install_crypto_provider();
        let c = clients();
        assert!(
            c.request(Method::GET, "http://127.0.0.1:9100/metrics")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            c.request(Method::GET, "https://target.example:443/m")
                .await
                .unwrap()
                .is_none()
        );
        let req = c
            .request(Method::GET, "https://[::1]:9443/metrics?x=1")
            .await
            .unwrap()
            .expect("re-addressed")
            .build()
            .unwrap();
        assert_eq!(req.url().as_str(), "https://target.example:9443/metrics?x=1");
        assert_eq!(req.headers()[HOST], "[::1]:9443");
        // One client per target address, reused across scrapes.
        c.request(Method::GET, "https://127.0.0.1/metrics").await.unwrap();
        c.request(Method::GET, "https://[::1]:9443/metrics")
            .await
            .unwrap();
        assert_eq!(c.clients.lock().len(), 2);
        let err = c.request(Method::GET, "https://exa mple/").await.err().unwrap();
        assert!(err.to_string().starts_with("invalid url"), "{err}");
        // The method is kept: notifiers POST through the same clients.
        let req = c
            .request(Method::POST, "https://127.0.0.1:9443/hook")
            .await
            .unwrap()
            .expect("re-addressed")
            .build()
            .unwrap();
        assert_eq!(req.method(), Method::POST);
    }
}
