//! The e-mail integration's TLS: lettre's `TlsParameters` from a
//! `tls_config`, with the CA file, server name and version rules of
//! `crate::http_client`, so SMTP trusts what the HTTP clients trust.
//!
//! lettre 0.11 builds its own rustls configuration and takes no ready one,
//! so the shared module supplies the checked pieces: the CA certificates
//! (then the only roots, as for HTTP), the validated server name (sent as
//! SNI and verified) and the lowest version. What lettre cannot express is
//! refused rather than silently ignored.

use lettre::transport::smtp::client::{
    Certificate, CertificateStore, TlsParameters, TlsVersion as SmtpTlsVersion,
};

use crate::config::{TlsConfig, TlsVersion};
use crate::http_client::{HttpClientError, ca_certificates, server_name};

#[derive(Debug, thiserror::Error)]
pub enum SmtpTlsError {
    #[error(transparent)]
    Config(#[from] HttpClientError),
    #[error("tls_config: {0} is not supported for SMTP")]
    Unsupported(&'static str),
    #[error("tls_config: {0}")]
    Lettre(#[from] lettre::transport::smtp::Error),
}

/// The parameters for a connection to `host` (verified and sent as SNI
/// unless `server_name` is set).
pub fn tls_parameters(tls: &TlsConfig, host: &str) -> Result<TlsParameters, SmtpTlsError> {
    if tls.cert_file.is_some() || tls.key_file.is_some() {
        return Err(SmtpTlsError::Unsupported("a client certificate"));
    }
    if tls.max_version == Some(TlsVersion::Tls12) {
        return Err(SmtpTlsError::Unsupported("max_version TLS12"));
    }
    let domain = match server_name(tls)? {
        Some(name) => name.to_str().into_owned(),
        None => host.to_string(),
    };
    let min = match tls.min_version {
        None | Some(TlsVersion::Tls12) => SmtpTlsVersion::Tlsv12,
        Some(TlsVersion::Tls13) => SmtpTlsVersion::Tlsv13,
    };
    let mut params = TlsParameters::builder(domain)
        .set_min_tls_version(min)
        .dangerous_accept_invalid_certs(tls.insecure_skip_verify)
        .dangerous_accept_invalid_hostnames(tls.insecure_skip_verify);
    if let Some(ca) = &tls.ca_file {
        params = params.certificate_store(CertificateStore::None);
        for cert in ca_certificates(ca)? {
            params = params.add_root_certificate(Certificate::from_der(cert.to_vec())?);
        }
    }
    Ok(params.build_rustls()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_refused_with_the_shared_messages() {
        let tls = TlsConfig {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        };
        let err = tls_parameters(&tls, "mail.example").err().unwrap().to_string();
        assert!(
            err.starts_with("tls_config: cannot read /nonexistent/ca.pem"),
            "{err}"
        );
        let tls = TlsConfig {
            server_name: Some("bad name".into()),
            ..Default::default()
        };
        let err = tls_parameters(&tls, "mail.example").err().unwrap().to_string();
        assert!(err.starts_with("tls_config: invalid server_name"), "{err}");
        let tls = TlsConfig {
            max_version: Some(TlsVersion::Tls12),
            ..Default::default()
        };
        let err = tls_parameters(&tls, "mail.example").err().unwrap().to_string();
        assert_eq!(err, "tls_config: max_version TLS12 is not supported for SMTP");
    }

    #[test]
    fn server_name_replaces_the_host() {
        let tls = TlsConfig {
            server_name: Some("smtp.internal".into()),
            ..Default::default()
        };
        let params = tls_parameters(&tls, "10.0.0.5").unwrap();
        assert_eq!(params.domain(), "smtp.internal");
        let params = tls_parameters(&TlsConfig::default(), "10.0.0.5").unwrap();
        assert_eq!(params.domain(), "10.0.0.5");
    }
}
