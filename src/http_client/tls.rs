//! A `rustls` client configuration from a `tls_config`: the roots (the CA
//! file, else the Mozilla roots), the verification name (`server_name`,
//! else the URL's host), the client certificate, and the protocol versions
//! between `min_version` and `max_version`. Files are read here, so a bad
//! setting fails when the configuration is loaded, not on every request.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{RootCertStore, SupportedProtocolVersion};

use super::error::HttpClientError;
use super::pem::{read_certs, read_key};
use super::verify::{AcceptAnyCert, NamedVerifier};
use crate::config::{TlsConfig, TlsVersion};

/// The client configuration for `tls`, offering ALPN `http/1.1` (the only
/// HTTP version the clients speak).
pub fn client_config(tls: &TlsConfig) -> Result<rustls::ClientConfig, HttpClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // Read and checked even when verification is off, so a wrong path is
    // found before someone turns verification back on.
    let roots = match &tls.ca_file {
        Some(ca) => trust(ca, &read_certs(ca)?)?,
        None => webpki_roots::TLS_SERVER_ROOTS.iter().cloned().collect(),
    };
    let server_name = server_name(tls)?;
    let verifier: Arc<dyn ServerCertVerifier> = if tls.insecure_skip_verify {
        Arc::new(AcceptAnyCert(provider.clone()))
    } else {
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
        Arc::new(NamedVerifier { inner, server_name })
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&protocol_versions(tls))
        .map_err(HttpClientError::Versions)?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(read_certs(cert)?, read_key(key)?)
            .map_err(HttpClientError::ClientCertificate)?,
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The certificates of a CA file, each checked to be usable as a trust
/// anchor (a file of garbage DER fails here, naming the file).
pub fn ca_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, HttpClientError> {
    let certs = read_certs(path)?;
    trust(path, &certs)?;
    Ok(certs)
}

/// `certs`, read from `path`, as roots.
fn trust(path: &Path, certs: &[CertificateDer<'static>]) -> Result<RootCertStore, HttpClientError> {
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert.clone()).map_err(|source| HttpClientError::BadCa {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(roots)
}

/// `server_name` as the name to verify and send as SNI; `None` when unset
/// or empty (the URL's host is used).
pub fn server_name(tls: &TlsConfig) -> Result<Option<ServerName<'static>>, HttpClientError> {
    match tls.server_name.as_deref() {
        None | Some("") => Ok(None),
        Some(name) => ServerName::try_from(name.to_string())
            .map(Some)
            .map_err(|source| HttpClientError::ServerName {
                name: name.to_string(),
                source,
            }),
    }
}

/// The versions between `min_version` and `max_version` (1.2 and 1.3 by
/// default, as Prometheus).
fn protocol_versions(tls: &TlsConfig) -> Vec<&'static SupportedProtocolVersion> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(min: Option<TlsVersion>, max: Option<TlsVersion>) -> Vec<rustls::ProtocolVersion> {
        let tls = TlsConfig {
            min_version: min,
            max_version: max,
            ..Default::default()
        };
        protocol_versions(&tls).iter().map(|v| v.version).collect()
    }

    #[test]
    fn versions_follow_min_and_max() {
        use rustls::ProtocolVersion::{TLSv1_2, TLSv1_3};
        assert_eq!(versions(None, None), [TLSv1_2, TLSv1_3]);
        assert_eq!(versions(Some(TlsVersion::Tls13), None), [TLSv1_3]);
        assert_eq!(versions(None, Some(TlsVersion::Tls12)), [TLSv1_2]);
    }

    #[test]
    fn bad_settings_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_ca = dir.path().join("ca.pem");
        // Valid PEM around bytes that are no certificate.
        std::fs::write(
            &not_a_ca,
            "-----BEGIN CERTIFICATE-----\nAAECAwQ=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let tls = TlsConfig {
            ca_file: Some(not_a_ca.clone()),
            ..Default::default()
        };
        let err = client_config(&tls).unwrap_err().to_string();
        let want = format!("tls_config: bad CA certificate in {}: ", not_a_ca.display());
        assert!(err.starts_with(&want), "{err}");

        let tls = TlsConfig {
            server_name: Some("not a name".into()),
            ..Default::default()
        };
        let err = client_config(&tls).unwrap_err().to_string();
        assert!(
            err.starts_with("tls_config: invalid server_name \"not a name\""),
            "{err}"
        );
        let tls = TlsConfig {
            server_name: Some(String::new()),
            ..Default::default()
        };
        assert!(server_name(&tls).unwrap().is_none());
    }
}
