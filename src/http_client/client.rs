//! The `reqwest` client of one configuration (a scrape job, a webhook):
//! its TLS from [`client_config`], redirects, compression and timeout, and
//! the per-host clients that send `server_name` as SNI. Requests start
//! here, so every caller gets the same addressing.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::{Method, RequestBuilder};

use super::error::{HttpClientError, SniError};
use super::sni::SniClients;
use super::tls::client_config;
use crate::config::{ProxySettings, TlsConfig};

/// What a client is built from besides credentials, which are added per
/// request (see [`super::HttpAuth`]).
pub struct ClientSettings<'a> {
    pub tls: &'a TlsConfig,
    /// Follow up to ten redirects; otherwise a redirect is the answer.
    pub follow_redirects: bool,
    /// Ask for gzip-compressed bodies and decode them.
    pub gzip: bool,
    /// A limit on every request; `None` leaves it to each request.
    pub timeout: Option<Duration>,
    /// `proxy_url`, `no_proxy`, `proxy_from_environment` (validated with
    /// the configuration).
    pub proxy: ProxySettings<'a>,
}

pub struct HttpClient {
    http: reqwest::Client,
    /// Set when `tls_config.server_name` is: HTTPS requests send it as SNI.
    sni: Option<SniClients>,
}

impl HttpClient {
    /// Builds the client; TLS files are read here, so a missing CA or key
    /// fails the configuration instead of every request.
    pub fn new(settings: &ClientSettings<'_>) -> Result<HttpClient, HttpClientError> {
        super::install_crypto_provider();
        let tls = client_config(settings.tls)?;
        let (follow_redirects, gzip, timeout) = (settings.follow_redirects, settings.gzip, settings.timeout);
        let proxy = match settings.proxy.url {
            Some(url) => Some(
                reqwest::Proxy::all(url)
                    .map_err(HttpClientError::Proxy)?
                    .no_proxy(settings.proxy.no_proxy.and_then(reqwest::NoProxy::from_string)),
            ),
            None => None,
        };
        let from_environment = settings.proxy.from_environment;
        let build = move |pinned: Option<(&str, &[SocketAddr])>| {
            let redirect = if follow_redirects {
                reqwest::redirect::Policy::limited(10)
            } else {
                reqwest::redirect::Policy::none()
            };
            let mut builder = reqwest::Client::builder()
                .tls_backend_preconfigured(tls.clone())
                .redirect(redirect)
                .gzip(gzip);
            // The environment's proxies only when asked for, as Prometheus:
            // by default a scrape or an alert reaches the host the
            // configuration names.
            builder = match &proxy {
                Some(p) => builder.proxy(p.clone()),
                None if from_environment => builder,
                None => builder.no_proxy(),
            };
            if let Some(t) = timeout {
                builder = builder.timeout(t);
            }
            if let Some((name, addrs)) = pinned {
                builder = builder.resolve_to_addrs(name, addrs);
            }
            builder.build().map_err(HttpClientError::Build)
        };
        let http = build(None)?;
        let sni = match &settings.tls.server_name {
            Some(name) if !name.is_empty() => {
                Some(SniClients::new(name.clone(), move |n, a| build(Some((n, a)))))
            }
            _ => None,
        };
        Ok(HttpClient { http, sni })
    }

    /// A request to `url`, re-addressed when the server name must travel as
    /// SNI. reqwest errors of such a request name the re-addressed URL;
    /// callers that show the URL restore it with `Error::with_url`.
    pub async fn request(&self, method: Method, url: &str) -> Result<RequestBuilder, SniError> {
        let routed = match &self.sni {
            Some(sni) => sni.request(method.clone(), url).await?,
            None => None,
        };
        Ok(routed.unwrap_or_else(|| self.http.request(method, url)))
    }
}

/// An error with its sources: reqwest's own message hides the cause
/// ("error sending request"), the chain says what happened (connection
/// refused, certificate, …).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}
