//! `server.tls`: HTTPS on Belfry's own listener. The section names a
//! certificate chain and its private key; `load` reads and checks the pair
//! (PEM, the key matching the leaf) so that a bad pair is refused when the
//! configuration is loaded and, with the same words, whenever the files are
//! picked up again while serving.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use serde::Deserialize;

use crate::model::PromDuration;

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTlsConfig {
    /// The server's certificate, then any intermediates, in PEM.
    pub cert_file: PathBuf,
    /// The private key of the first certificate (PKCS#8, PKCS#1 or SEC1), in PEM.
    pub key_file: PathBuf,
    /// `Strict-Transport-Security`'s `max-age` on every response; 0 sends
    /// no header.
    #[serde(default = "default_hsts_max_age")]
    pub hsts_max_age: PromDuration,
}

/// One year, what browsers' preload lists ask for.
pub const DEFAULT_HSTS_MAX_AGE_SECS: u64 = 365 * 24 * 3600;

fn default_hsts_max_age() -> PromDuration {
    PromDuration::from_secs(DEFAULT_HSTS_MAX_AGE_SECS)
}

/// Why a certificate and key pair cannot be served. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ServerTlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bad PEM in {}: {reason}", path.display())]
    Pem { path: PathBuf, reason: String },
    #[error("no certificate found in {} (expected a -----BEGIN CERTIFICATE----- block)", path.display())]
    NoCertificate { path: PathBuf },
    #[error(
        "no private key found in {} (expected a -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY block)",
        path.display()
    )]
    NoKey { path: PathBuf },
    #[error("the certificate in {} is not valid X.509: {reason}", path.display())]
    Certificate { path: PathBuf, reason: String },
    #[error("the private key in {} is not usable: {source}", path.display())]
    Key {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error(
        "the private key in {} does not belong to the first certificate in {} (write the leaf certificate first, then its intermediates)",
        key.display(),
        cert.display()
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },
}

/// A checked pair, ready to hand to rustls.
#[derive(Clone, Debug)]
pub struct ServerCertificate {
    pub certified: Arc<CertifiedKey>,
    /// The leaf's `notAfter`, in seconds since the epoch.
    pub not_after: i64,
    /// The leaf's serial number in hex, for logs.
    pub serial: String,
    /// The leaf's subject, for logs.
    pub subject: String,
}

impl ServerTlsConfig {
    /// Reads both files and checks them: PEM, at least one certificate, a
    /// key the ring provider can sign with, and that key matching the leaf.
    pub fn load(&self) -> Result<ServerCertificate, ServerTlsError> {
        load_pair(&self.cert_file, &self.key_file)
    }

    /// The HSTS `max-age` in seconds, `None` when it is turned off.
    pub fn hsts_max_age_secs(&self) -> Option<u64> {
        let secs = self.hsts_max_age.as_duration().as_secs();
        (secs > 0).then_some(secs)
    }

    pub(super) fn resolve_paths(&mut self, dir: &Path) {
        for p in [&mut self.cert_file, &mut self.key_file] {
            if p.is_relative() && !p.as_os_str().is_empty() && !dir.as_os_str().is_empty() {
                *p = dir.join(&*p);
            }
        }
    }
}

fn load_pair(cert_file: &Path, key_file: &Path) -> Result<ServerCertificate, ServerTlsError> {
    let cert_pem = read(cert_file)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ServerTlsError::Pem {
            path: cert_file.to_path_buf(),
            reason: pem_problem(&e),
        })?;
    let Some(leaf) = chain.first() else {
        return Err(ServerTlsError::NoCertificate {
            path: cert_file.to_path_buf(),
        });
    };
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf).map_err(|e| ServerTlsError::Certificate {
        path: cert_file.to_path_buf(),
        reason: e.to_string(),
    })?;
    let not_after = parsed.validity().not_after.timestamp();
    let serial = parsed.tbs_certificate.raw_serial_as_string();
    let subject = parsed.subject().to_string();

    let key_pem = read(key_file)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|source| match source {
        rustls::pki_types::pem::Error::NoItemsFound => ServerTlsError::NoKey {
            path: key_file.to_path_buf(),
        },
        e => ServerTlsError::Pem {
            path: key_file.to_path_buf(),
            reason: pem_problem(&e),
        },
    })?;
    // The ring provider explicitly, not the process default: Belfry never
    // loads keys through another provider, and configuration is checked
    // before anything installs one.
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|source| ServerTlsError::Key {
            path: key_file.to_path_buf(),
            source,
        })?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(ServerTlsError::KeyMismatch {
                cert: cert_file.to_path_buf(),
                key: key_file.to_path_buf(),
            });
        }
        // Every key type the ring provider loads reports its public key,
        // so "unknown" does not happen with it; the leaf failing to parse
        // as webpki sees it does.
        Err(e) => {
            return Err(ServerTlsError::Certificate {
                path: cert_file.to_path_buf(),
                reason: e.to_string(),
            });
        }
    }
    Ok(ServerCertificate {
        certified: Arc::new(certified),
        not_after,
        serial,
        subject,
    })
}

/// The PEM parser's error in words: its own text prints the marker lines
/// as lists of byte values.
fn pem_problem(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { end_marker } => {
            let label = String::from_utf8_lossy(end_marker);
            format!("a {label} section has no -----END {label}----- line")
        }
        Error::IllegalSectionStart { line } => {
            format!("malformed begin line {:?}", String::from_utf8_lossy(line))
        }
        other => other.to_string(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ServerTlsError> {
    std::fs::read(path).map_err(|source| ServerTlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Pair {
        cert: PathBuf,
        key: PathBuf,
    }

    fn write_pair(dir: &Path, stem: &str, not_after: (i32, u8, u8)) -> Pair {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let pair = Pair {
            cert: dir.join(format!("{stem}.pem")),
            key: dir.join(format!("{stem}-key.pem")),
        };
        std::fs::write(&pair.cert, cert.pem()).unwrap();
        std::fs::write(&pair.key, key.serialize_pem()).unwrap();
        pair
    }

    fn config(pair: &Pair) -> ServerTlsConfig {
        ServerTlsConfig {
            cert_file: pair.cert.clone(),
            key_file: pair.key.clone(),
            hsts_max_age: default_hsts_max_age(),
        }
    }

    #[test]
    fn a_good_pair_loads_with_its_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let pair = write_pair(dir.path(), "server", (2031, 5, 17));
        let loaded = config(&pair).load().unwrap();
        // 2031-05-17T00:00:00Z
        assert_eq!(loaded.not_after, 1_936_742_400);
        assert_eq!(loaded.certified.cert.len(), 1);
        assert!(!loaded.serial.is_empty());
    }

    #[test]
    fn each_bad_file_is_named_with_its_problem() {
        let dir = tempfile::tempdir().unwrap();
        let a = write_pair(dir.path(), "a", (2031, 1, 1));
        let b = write_pair(dir.path(), "b", (2031, 1, 1));

        let missing = ServerTlsConfig {
            cert_file: dir.path().join("missing.pem"),
            ..config(&a)
        };
        let e = missing.load().unwrap_err().to_string();
        assert!(e.starts_with("cannot read ") && e.contains("missing.pem"), "{e}");

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
        let e = ServerTlsConfig {
            cert_file: garbage.clone(),
            ..config(&a)
        }
        .load()
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("bad PEM in ")
                && e.contains("garbage.pem")
                && e.contains("-----END CERTIFICATE----- line"),
            "{e}"
        );

        let e = ServerTlsConfig {
            key_file: a.cert.clone(),
            ..config(&a)
        }
        .load()
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("no private key found in ") && e.contains("a.pem"),
            "{e}"
        );

        let e = ServerTlsConfig {
            cert_file: a.key.clone(),
            ..config(&a)
        }
        .load()
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("no certificate found in ") && e.contains("a-key.pem"),
            "{e}"
        );

        // A well-formed PEM block whose bytes are not a certificate.
        let not_x509 = dir.path().join("not-x509.pem");
        std::fs::write(
            &not_x509,
            "-----BEGIN CERTIFICATE-----\nAAECAw==\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = ServerTlsConfig {
            cert_file: not_x509,
            ..config(&a)
        }
        .load()
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("not-x509.pem") && e.contains("is not valid X.509"),
            "{e}"
        );

        let e = ServerTlsConfig {
            key_file: b.key.clone(),
            ..config(&a)
        }
        .load()
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("b-key.pem") && e.contains("does not belong to") && e.contains("a.pem"),
            "{e}"
        );
    }

    #[test]
    fn relative_paths_join_the_config_directory_and_hsts_zero_is_off() {
        let mut c = ServerTlsConfig {
            cert_file: "tls/cert.pem".into(),
            key_file: "/etc/belfry/key.pem".into(),
            hsts_max_age: PromDuration::ZERO,
        };
        c.resolve_paths(Path::new("/srv/belfry"));
        assert_eq!(c.cert_file, Path::new("/srv/belfry/tls/cert.pem"));
        assert_eq!(c.key_file, Path::new("/etc/belfry/key.pem"));
        assert_eq!(c.hsts_max_age_secs(), None);
        c.hsts_max_age = default_hsts_max_age();
        assert_eq!(c.hsts_max_age_secs(), Some(31_536_000));
    }
}
