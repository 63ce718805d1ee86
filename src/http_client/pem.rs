//! Reading the PEM files a `tls_config` names (certificates and private
//! keys) with `rustls-pki-types`' parser. Files are read whole first, so an
//! unreadable file and a malformed one are told apart in the error.

use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::error::HttpClientError;

/// Every certificate in `path`, in file order; at least one.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, HttpClientError> {
    let data = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| HttpClientError::BadPem {
            path: path.to_path_buf(),
            source,
        })?;
    if certs.is_empty() {
        return Err(HttpClientError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// The first private key in `path` (PKCS#8, PKCS#1 or SEC1).
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, HttpClientError> {
    let data = read(path)?;
    PrivateKeyDer::from_pem_slice(&data).map_err(|source| match source {
        rustls::pki_types::pem::Error::NoItemsFound => HttpClientError::NoPrivateKey {
            path: path.to_path_buf(),
        },
        source => HttpClientError::BadPem {
            path: path.to_path_buf(),
            source,
        },
    })
}

fn read(path: &Path) -> Result<Vec<u8>, HttpClientError> {
    std::fs::read(path).map_err(|source| HttpClientError::ReadFile {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_tell_missing_from_malformed_from_empty() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = read_certs(&missing).unwrap_err().to_string();
        assert!(
            err.starts_with("tls_config: cannot read") && err.contains("missing.pem"),
            "{err}"
        );

        let broken = dir.path().join("broken.pem");
        std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
        let err = read_certs(&broken).unwrap_err().to_string();
        assert!(err.starts_with("tls_config: bad PEM in"), "{err}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no pem here\n").unwrap();
        let err = read_certs(&empty).unwrap_err().to_string();
        assert!(err.starts_with("tls_config: no certificate found in"), "{err}");
        let err = read_key(&empty).unwrap_err().to_string();
        assert!(err.starts_with("tls_config: no private key found in"), "{err}");
    }

    #[test]
    fn reads_what_rcgen_writes() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["a.test".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let (cert_file, key_file) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cert_file, format!("{}{}", cert.pem(), cert.pem())).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        let certs = read_certs(&cert_file).unwrap();
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[0].as_ref(), cert.der().as_ref());
        assert_eq!(read_key(&key_file).unwrap().secret_der(), key.serialize_der());
    }
}
