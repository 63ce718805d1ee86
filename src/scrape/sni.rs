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

/// Clients of one job, one per target authority (`host:port`).
pub struct SniClients {
    server_name: String,
    build: Box<dyn Fn(Option<(&str, &[SocketAddr])>) -> Result<reqwest::Client, String> + Send + Sync>,
    clients: Mutex<HashMap<String, (Vec<SocketAddr>, reqwest::Client)>>,
}

/// More distinct targets than this in one job's life: the cache starts
/// over rather than grow with service-discovery churn.
const MAX_CACHED_CLIENTS: usize = 4096;

impl SniClients {
    /// `build(Some((name, addrs)))` must return a client that resolves
    /// `name` to `addrs` and is otherwise the job's client.
    pub fn new(
        server_name: String,
        build: impl Fn(Option<(&str, &[SocketAddr])>) -> Result<reqwest::Client, String> + Send + Sync + 'static,
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
        let client = (self.build)(Some((&self.server_name, &addrs)))?;
        if clients.len() >= MAX_CACHED_CLIENTS {
            clients.clear();
        }
        clients.insert(authority.to_string(), (addrs, client.clone()));
        Ok(client)
    }
}
