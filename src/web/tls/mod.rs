//! HTTPS on the listener (`server.tls`): the certificate being served,
//! picked up again when its files change, and the listener that runs each
//! client's handshake on its own task (`listener.rs`).
//!
//! The pair is read and checked by `config::ServerTlsConfig::load`, the
//! same check a configuration load makes. A bad new pair keeps the old one
//! in service; open connections always keep the certificate they began
//! with, since rustls asks the resolver once per handshake.

mod listener;
mod resolver;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::config::{ServerCertificate, ServerTlsConfig, ServerTlsError};
use crate::selfmetrics::{Counter, CounterVec, Gauge, Registry};

pub use listener::TlsListener;
use resolver::CurrentCertificate;

/// How often the files' metadata is compared with what was loaded.
pub const POLL_INTERVAL: Duration = Duration::from_secs(5);
/// How long a client has to complete its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; the accept loop waits above it, as the
/// kernel's backlog would, so a flood of silent clients holds no more.
pub const MAX_CONCURRENT_HANDSHAKES: usize = 1024;

/// The listener's TLS: its rustls configuration, the certificate in
/// service, and what was last seen of the files.
pub struct ServerTls {
    config: ServerTlsConfig,
    current: Arc<CurrentCertificate>,
    rustls: Arc<rustls::ServerConfig>,
    /// The files' metadata at the last load attempt, good or bad, so a
    /// bad pair is reported once per change rather than every poll.
    seen: Mutex<FileStamps>,
    metrics: TlsMetrics,
}

/// What a change of either file shows: modification time, size and, on
/// Unix, the inode (a renamed-over file or a swapped symlink changes it
/// even when time and size happen to match).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct FileStamps {
    cert: Option<FileStamp>,
    key: Option<FileStamp>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl FileStamps {
    fn read(config: &ServerTlsConfig) -> FileStamps {
        FileStamps {
            cert: FileStamp::read(&config.cert_file),
            key: FileStamp::read(&config.key_file),
        }
    }
}

impl FileStamp {
    fn read(path: &PathBuf) -> Option<FileStamp> {
        // Follows symlinks: Kubernetes swaps a `..data` link over secrets.
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(FileStamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode,
        })
    }
}

pub(crate) struct TlsMetrics {
    pub handshake_failures: Arc<CounterVec>,
    reload_failures: Arc<Counter>,
    expiry: Arc<Gauge>,
    reloads: Arc<Counter>,
}

impl TlsMetrics {
    fn new(registry: &Registry) -> TlsMetrics {
        TlsMetrics {
            handshake_failures: registry.counter_vec(
                "belfry_tls_handshake_failures_total",
                "Connections to the TLS listener whose handshake failed: reason is error (a TLS alert or a dropped connection), timeout, or plain_http (answered 400).",
                &["reason"],
            ),
            reload_failures: registry.counter(
                "belfry_tls_reload_failures_total",
                "Attempts to pick up server.tls's certificate and key again that failed; the previous pair stays in service.",
            ),
            expiry: registry.gauge(
                "belfry_tls_certificate_expiry_timestamp_seconds",
                "notAfter of the certificate the listener serves, in seconds since the epoch.",
            ),
            reloads: registry.counter(
                "belfry_tls_certificate_loads_total",
                "Certificate and key pairs put in service (the first at start included).",
            ),
        }
    }
}

impl ServerTls {
    /// Loads the pair (refusing a bad one: nothing would be served) and
    /// builds the rustls configuration with the ring provider, TLS 1.2 and
    /// 1.3, and ALPN for h2 and HTTP/1.1.
    pub fn new(config: &ServerTlsConfig, registry: &Registry) -> Result<Arc<ServerTls>, ServerTlsError> {
        let stamps = FileStamps::read(config);
        let first = config.load()?;
        let current = Arc::new(CurrentCertificate::new(first.certified.clone()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut rustls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        rustls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let tls = ServerTls {
            config: config.clone(),
            current,
            rustls: Arc::new(rustls),
            seen: Mutex::new(stamps),
            metrics: TlsMetrics::new(registry),
        };
        tls.put_in_service(&first);
        Ok(Arc::new(tls))
    }

    /// The listener serving this configuration over `tcp`.
    pub fn listener(&self, tcp: tokio::net::TcpListener) -> TlsListener {
        TlsListener::new(
            tcp,
            tokio_rustls::TlsAcceptor::from(self.rustls.clone()),
            self.metrics.handshake_failures.clone(),
        )
    }

    /// Reads the pair again now (SIGHUP, `POST /-/reload`), whether or not
    /// the files look changed. Blocking: it reads two files.
    pub fn reload(&self) -> Result<(), ServerTlsError> {
        let stamps = FileStamps::read(&self.config);
        *self.seen.lock() = stamps;
        self.try_load()
    }

    /// Reads the pair again if either file changed since the last attempt.
    /// Blocking: it reads file metadata, and both files when changed.
    pub fn reload_if_changed(&self) {
        let stamps = FileStamps::read(&self.config);
        {
            let mut seen = self.seen.lock();
            if *seen == stamps {
                return;
            }
            *seen = stamps;
        }
        let _ = self.try_load();
    }

    /// Polls the files until `shutdown`.
    pub async fn watch(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let this = self.clone();
            if tokio::task::spawn_blocking(move || this.reload_if_changed())
                .await
                .is_err()
            {
                tracing::error!("the tls certificate check task failed");
            }
        }
    }

    fn try_load(&self) -> Result<(), ServerTlsError> {
        match self.config.load() {
            Ok(loaded) => {
                self.put_in_service(&loaded);
                Ok(())
            }
            Err(e) => {
                self.metrics.reload_failures.inc();
                tracing::error!(
                    error = %e,
                    "cannot load the new tls certificate; the previous one stays in service (fix the files, then they are picked up again on their next change, SIGHUP or POST /-/reload)"
                );
                Err(e)
            }
        }
    }

    fn put_in_service(&self, loaded: &ServerCertificate) {
        self.current.replace(loaded.certified.clone());
        // An f64 holds every timestamp of the next few million years exactly.
        self.metrics.expiry.set(loaded.not_after as f64);
        self.metrics.reloads.inc();
        tracing::info!(
            cert_file = %self.config.cert_file.display(),
            subject = %loaded.subject,
            serial = %loaded.serial,
            not_after = loaded.not_after,
            "tls certificate in service"
        );
    }
}
