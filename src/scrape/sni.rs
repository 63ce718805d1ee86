//! Sending `tls_config.server_name` as the TLS SNI, as Prometheus does.
//!
//! reqwest takes the SNI from the URL's host and offers no override, so an
//! HTTPS scrape of a job with a `server_name` goes to a URL whose host is
//! that name, through a client that resolves the name to the target's own
//! addresses; the `Host` header stays the target's. Each target address
//! gets its own client, so a pooled connection never serves another target.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use parking_lot::Mutex;
use reqwest::Url;
use reqwest::header::HOST;

/// Builds the job's client with `name` resolving to `addrs`.
type BuildPinned = dyn Fn(&str, &[SocketAddr]) -> Result<reqwest::Client, String> + Send + Sync;

/// Clients of one job, one per target authority (`host:port`).
pub struct SniClients {
    server_name: String,
    build: Box<BuildPinned>,
    clients: Mutex<HashMap<String, (Vec<SocketAddr>, reqwest::Client)>>,
}

/// More distinct targets than this in one job's life: the cache starts
/// over rather than grow with service-discovery churn.
const MAX_CACHED_CLIENTS: usize = 4096;

impl SniClients {
    /// `build(name, addrs)` must return a client that resolves `name` to
    /// `addrs` and is otherwise the job's client.
    pub fn new(
        server_name: String,
        build: impl Fn(&str, &[SocketAddr]) -> Result<reqwest::Client, String> + Send + Sync + 'static,
    ) -> Self {
        SniClients {
            server_name,
            build: Box::new(build),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The GET to send for `url`: unchanged for plain HTTP or when the URL's
    /// host already is the server name, else re-addressed as described above.
    /// `None` means: use the job's ordinary client.
    pub async fn request(&self, url: &str) -> Result<Option<reqwest::RequestBuilder>, String> {
        let mut parsed = Url::parse(url).map_err(|e| format!("invalid scrape url {url:?}: {e}"))?;
        if parsed.scheme() != "https" || parsed.host_str() == Some(self.server_name.as_str()) {
            return Ok(None);
        }
        let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
            return Err(format!("scrape url {url:?} has no host"));
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
                .map_err(|e| format!("cannot resolve {bare}: {e}"))?
                .collect(),
        };
        addrs.sort();
        let client = self.client_for(&authority, addrs)?;
        parsed.set_host(Some(&self.server_name)).map_err(|e| {
            format!(
                "tls_config: server_name {:?} cannot be a url host: {e}",
                self.server_name
            )
        })?;
        Ok(Some(client.get(parsed).header(HOST, authority)))
    }

    /// The cached client of `authority`, rebuilt when its addresses changed.
    fn client_for(&self, authority: &str, addrs: Vec<SocketAddr>) -> Result<reqwest::Client, String> {
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
                .map_err(|e| e.to_string())
        })
    }

    #[tokio::test]
    async fn only_https_to_another_host_is_re_addressed() {
        crate::install_crypto_provider();
        let c = clients();
        assert!(
            c.request("http://127.0.0.1:9100/metrics")
                .await
                .unwrap()
                .is_none()
        );
        assert!(c.request("https://target.example:443/m").await.unwrap().is_none());
        let req = c
            .request("https://[::1]:9443/metrics?x=1")
            .await
            .unwrap()
            .expect("re-addressed")
            .build()
            .unwrap();
        assert_eq!(req.url().as_str(), "https://target.example:9443/metrics?x=1");
        assert_eq!(req.headers()[HOST], "[::1]:9443");
        // One client per target address, reused across scrapes.
        c.request("https://127.0.0.1/metrics").await.unwrap();
        c.request("https://[::1]:9443/metrics").await.unwrap();
        assert_eq!(c.clients.lock().len(), 2);
        let err = c.request("https://exa mple/").await.err().unwrap();
        assert!(err.contains("invalid scrape url"), "{err}");
    }
}
