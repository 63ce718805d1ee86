//! Outbound HTTP, shared by scraping and the notifiers: a `rustls` client
//! configuration from a `tls_config` (CA, client certificate, verification
//! name, SNI, protocol versions), the PEM files it reads, credentials, and
//! the `reqwest` client built from all of that. It knows only `config`, so
//! every subsystem that talks to the network can use it.

mod auth;
mod client;
mod error;
mod pem;
mod sni;
mod tls;
mod verify;

pub use auth::{HttpAuth, read_secret};
pub use client::{ClientSettings, HttpClient, error_chain};
pub use error::{HttpAuthError, HttpClientError, SniError};
pub use pem::{read_certs, read_key};
pub use tls::{ca_certificates, client_config, server_name};

/// Makes `ring` the process-wide rustls crypto provider (reqwest and lettre
/// are built without a provider of their own). Safe to call more than once.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
