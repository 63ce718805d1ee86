//! Why an outbound client could not be built ([`HttpClientError`]: its TLS
//! files or settings), why a request could not be addressed to the
//! configured `server_name` ([`SniError`]), and why credentials could not be
//! attached ([`HttpAuthError`]). Messages start with the setting at fault,
//! so they read well after the job or receiver that names them.

use std::path::PathBuf;

use rustls::pki_types::InvalidDnsNameError;

/// `url::ParseError`, which reqwest does not re-export by name.
type UrlParseError = <reqwest::Url as std::str::FromStr>::Err;

#[derive(Debug, thiserror::Error)]
pub enum HttpClientError {
    #[error("tls_config: cannot read {}: {source}", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("tls_config: bad PEM in {}: {source}", path.display())]
    BadPem {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("tls_config: no certificate found in {}", path.display())]
    NoCertificate { path: PathBuf },
    #[error("tls_config: no private key found in {}", path.display())]
    NoPrivateKey { path: PathBuf },
    #[error("tls_config: bad CA certificate in {}: {source}", path.display())]
    BadCa {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("tls_config: invalid server_name {name:?}: {source}")]
    ServerName {
        name: String,
        #[source]
        source: InvalidDnsNameError,
    },
    #[error("tls_config: {0}")]
    Verifier(#[from] rustls::client::VerifierBuilderError),
    #[error("tls_config: protocol versions: {0}")]
    Versions(#[source] rustls::Error),
    #[error("tls_config: client certificate: {0}")]
    ClientCertificate(#[source] rustls::Error),
    #[error("cannot build http client: {0}")]
    Build(#[from] reqwest::Error),
    #[error("proxy_url: {0}")]
    Proxy(#[source] reqwest::Error),
}

/// The URL is not part of the message: a webhook URL may carry secrets,
/// and callers name the URL in the form they show it.
#[derive(Debug, thiserror::Error)]
pub enum SniError {
    #[error("invalid url: {0}")]
    InvalidUrl(#[source] UrlParseError),
    #[error("url has no host")]
    NoHost,
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("tls_config: server_name {name:?} cannot be a url host: {source}")]
    ServerNameNotHost {
        name: String,
        #[source]
        source: UrlParseError,
    },
    #[error(transparent)]
    Client(#[from] HttpClientError),
}

#[derive(Debug, thiserror::Error)]
pub enum HttpAuthError {
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("credentials contain invalid header characters")]
    InvalidHeader,
}
