//! The HTTP side of a scrape: one `reqwest` client per job with its TLS
//! settings, authentication (credential files re-read on every scrape, so
//! rotated tokens take effect), content negotiation and a body size limit
//! enforced while the body streams in.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_TYPE, USER_AGENT};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::config::ScrapeConfig;
use crate::http_auth::{HttpAuth, HttpAuthError};

use super::error::ScrapeFailure;
use super::sni::SniClients;
use crate::exposition::SCRAPE_ACCEPT_HEADER;

pub const USER_AGENT_VALUE: &str = concat!("Belfry/", env!("CARGO_PKG_VERSION"));

/// A fetched body and its declared type.
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
}

pub struct ScrapeClient {
    http: reqwest::Client,
    /// Set when `tls_config.server_name` is: HTTPS scrapes send it as SNI.
    sni: Option<SniClients>,
    auth: HttpAuth,
    accept: String,
    compression: bool,
    body_limit: u64,
}

impl ScrapeClient {
    /// Builds the client for a job; TLS files are read here, so a missing
    /// CA or key fails the config instead of every scrape.
    pub fn new(job: &ScrapeConfig) -> Result<Self, String> {
        crate::install_crypto_provider();
        let tls = tls_config(job)?;
        let (follow_redirects, gzip) = (job.follow_redirects, job.enable_compression);
        let build = move |pinned: Option<(&str, &[SocketAddr])>| {
            let redirect = if follow_redirects {
                reqwest::redirect::Policy::limited(10)
            } else {
                reqwest::redirect::Policy::none()
            };
            let mut builder = reqwest::Client::builder()
                .tls_backend_preconfigured(tls.clone())
                .redirect(redirect)
                .gzip(gzip)
                .no_proxy();
            if let Some((name, addrs)) = pinned {
                builder = builder.resolve_to_addrs(name, addrs);
            }
            builder
                .build()
                .map_err(|e| format!("cannot build http client: {e}"))
        };
        let http = build(None)?;
        let sni = match &job.tls_config.server_name {
            Some(name) if !name.is_empty() => {
                Some(SniClients::new(name.clone(), move |n, a| build(Some((n, a)))))
            }
            _ => None,
        };
        let auth = match (&job.basic_auth, &job.authorization) {
            (Some(b), _) => HttpAuth::Basic {
                username: b.username.clone(),
                password: b.password.clone(),
                password_file: b.password_file.clone(),
            },
            (None, Some(a)) => HttpAuth::Header {
                kind: a.kind.clone(),
                credentials: a.credentials.clone(),
                credentials_file: a.credentials_file.clone(),
            },
            (None, None) => HttpAuth::None,
        };
        Ok(ScrapeClient {
            http,
            sni,
            auth,
            accept: accept_header(job),
            compression: job.enable_compression,
            body_limit: job.body_size_limit.0,
        })
    }

    /// GETs `url` within `timeout`, reading at most the body size limit.
    pub async fn fetch(&self, url: &str, timeout: Duration) -> Result<Fetched, ScrapeFailure> {
        match tokio::time::timeout(timeout, self.fetch_inner(url, timeout)).await {
            Ok(r) => r,
            Err(_) => Err(ScrapeFailure::Timeout(timeout)),
        }
    }

    async fn fetch_inner(&self, url: &str, timeout: Duration) -> Result<Fetched, ScrapeFailure> {
        let routed = match &self.sni {
            Some(sni) => sni.request(url).await.map_err(ScrapeFailure::Request)?,
            None => None,
        };
        let mut req = routed
            .unwrap_or_else(|| self.http.get(url))
            .timeout(timeout)
            .header(ACCEPT, &self.accept)
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", timeout.as_secs_f64()),
            );
        if !self.compression {
            req = req.header(ACCEPT_ENCODING, "identity");
        }
        let req = self.auth.apply(req).await.map_err(|e| match e {
            HttpAuthError::ReadFile { path, source } => {
                ScrapeFailure::Credentials(format!("{}: {source}", path.display()))
            }
            HttpAuthError::InvalidHeader => ScrapeFailure::Credentials(e.to_string()),
        })?;
        // Errors name the target's URL, not the one re-addressed for SNI.
        let original = reqwest::Url::parse(url).ok();
        let failure = |e: reqwest::Error| {
            let e = match &original {
                Some(u) => e.with_url(u.clone()),
                None => e,
            };
            request_failure(e, timeout)
        };
        let mut resp = req.send().await.map_err(failure)?;
        let status = resp.status();
        if status != reqwest::StatusCode::OK {
            return Err(ScrapeFailure::Status(status.to_string()));
        }
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let limit = self.body_limit;
        if limit > 0
            && let Some(len) = resp.content_length()
            && len > limit
            && resp.headers().get(reqwest::header::CONTENT_ENCODING).is_none()
        {
            return Err(ScrapeFailure::BodySizeLimit { limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(failure)? {
            if limit > 0 && (body.len() + chunk.len()) as u64 > limit {
                return Err(ScrapeFailure::BodySizeLimit { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { body, content_type })
    }
}

fn request_failure(e: reqwest::Error, timeout: Duration) -> ScrapeFailure {
    if e.is_timeout() {
        return ScrapeFailure::Timeout(timeout);
    }
    // reqwest's Display hides the cause ("error sending request"); the
    // chain says what happened (connection refused, certificate, …).
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    ScrapeFailure::Request(message)
}

/// The `Accept` header: the parser's default, or the job's `scrape_protocols`
/// in order with decreasing q-values, as Prometheus builds it.
pub fn accept_header(job: &ScrapeConfig) -> String {
    let Some(protocols) = &job.scrape_protocols else {
        return SCRAPE_ACCEPT_HEADER.to_string();
    };
    let types: Vec<&str> = protocols.iter().filter_map(|p| p.media_type()).collect();
    if types.is_empty() {
        return SCRAPE_ACCEPT_HEADER.to_string();
    }
    let mut parts = Vec::with_capacity(types.len() + 1);
    let mut weight = types.len() + 1;
    for t in types {
        parts.push(format!("{t};q=0.{weight}"));
        weight -= 1;
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

fn tls_config(job: &ScrapeConfig) -> Result<rustls::ClientConfig, String> {
    let tls = &job.tls_config;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    match &tls.ca_file {
        Some(ca) => {
            for cert in read_certs(ca)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("tls_config: bad CA certificate in {}: {e}", ca.display()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let verifier: Arc<dyn ServerCertVerifier> = if tls.insecure_skip_verify {
        Arc::new(AcceptAnyCert(provider.clone()))
    } else {
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| format!("tls_config: {e}"))?;
        let server_name = match &tls.server_name {
            Some(n) => Some(
                ServerName::try_from(n.clone())
                    .map_err(|e| format!("tls_config: invalid server_name {n:?}: {e}"))?,
            ),
            None => None,
        };
        Arc::new(NamedVerifier { inner, server_name })
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&protocol_versions(tls))
        .map_err(|e| format!("tls_config: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => {
            let certs = read_certs(cert)?;
            let key = read_key(key)?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("tls_config: client certificate: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The versions between `min_version` and `max_version` (1.2 and 1.3 by
/// default, as Prometheus).
fn protocol_versions(tls: &crate::config::TlsConfig) -> Vec<&'static rustls::SupportedProtocolVersion> {
    use crate::config::TlsVersion;
    let min = tls.min_version.unwrap_or(TlsVersion::Tls12);
    let max = tls.max_version.unwrap_or(TlsVersion::Tls13);
    [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| (min..=max).contains(v))
    .map(|(_, p)| p)
    .collect()
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let data = std::fs::read(path).map_err(|e| format!("tls_config: cannot read {}: {e}", path.display()))?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut data.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls_config: bad PEM in {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("tls_config: no certificate found in {}", path.display()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<rustls::pki_types::PrivateKeyDer<'static>, String> {
    let data = std::fs::read(path).map_err(|e| format!("tls_config: cannot read {}: {e}", path.display()))?;
    rustls_pemfile::private_key(&mut data.as_slice())
        .map_err(|e| format!("tls_config: bad PEM in {}: {e}", path.display()))?
        .ok_or_else(|| format!("tls_config: no private key found in {}", path.display()))
}

/// Verifies against `server_name` when configured (the host in the URL is
/// then only where to connect), else against the URL's host.
#[derive(Debug)]
struct NamedVerifier {
    inner: Arc<WebPkiServerVerifier>,
    server_name: Option<ServerName<'static>>,
}

impl ServerCertVerifier for NamedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let name = self.server_name.as_ref().unwrap_or(server_name);
        self.inner
            .verify_server_cert(end_entity, intermediates, name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `insecure_skip_verify: true`: any certificate is accepted, but the
/// handshake signatures are still checked.
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn accept_header_follows_scrape_protocols() {
        let cfg = Config::from_yaml_with_env(
            "scrape_configs:\n  - job_name: a\n    scrape_protocols: [PrometheusProto, PrometheusText0.0.4, OpenMetricsText1.0.0]\n  - job_name: b\n",
            "t",
            |_| None,
        )
        .unwrap();
        assert_eq!(
            accept_header(&cfg.scrape_configs[0]),
            "text/plain;version=0.0.4;q=0.3,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.2,*/*;q=0.1"
        );
        assert_eq!(accept_header(&cfg.scrape_configs[1]), SCRAPE_ACCEPT_HEADER);
    }

    #[test]
    fn missing_tls_files_fail_the_job() {
        let cfg = Config::from_yaml_with_env(
            "scrape_configs:\n  - job_name: a\n    tls_config: {ca_file: /nonexistent/ca.pem}\n",
            "t",
            |_| None,
        )
        .unwrap();
        let err = ScrapeClient::new(&cfg.scrape_configs[0]).err().unwrap();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }
}
