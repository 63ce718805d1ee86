//! The webhook notifier's `http_config.tls_config` on the wire: a
//! `server_name` is verified and sent as SNI, `min_version` and
//! `max_version` bound the handshake. Each test drives the real notifier
//! against a loopback TLS receiver with certificates made here.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use belfry::alerting::notify::webhook::WebhookNotifier;
use belfry::alerting::notify::{Notification, NotifiedAlert, Notifier};
use belfry::config::alerting::WebhookConfig;
use belfry::model::{Alert, Labels};
use parking_lot::Mutex;
use rustls::{ServerConfig, ServerConnection, StreamOwned, SupportedProtocolVersion};

use crate::scrape_client::{Issued, Pki};

/// What one delivery looked like to the receiver.
#[derive(Clone, Debug)]
struct Delivery {
    sni: Option<String>,
    host: String,
    version: Option<rustls::ProtocolVersion>,
}

/// A loopback HTTPS webhook receiver that answers 200 to every POST and
/// records it. It stops when dropped.
struct Receiver {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Delivery>>>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    fn start(leaf: &Issued, versions: &[&'static SupportedProtocolVersion]) -> Receiver {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(leaf.chain.clone(), leaf.key.clone_key())
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopping) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::Acquire) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (config, log) = (config.clone(), log.clone());
                std::thread::spawn(move || serve(conn, config, &log));
            }
        });
        Receiver { addr, seen, stop }
    }

    fn url(&self) -> String {
        format!("https://{}/hook", self.addr)
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.seen.lock().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(conn: TcpStream, config: Arc<ServerConfig>, log: &Mutex<Vec<Delivery>>) {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let Ok(server) = ServerConnection::new(config) else {
        return;
    };
    let mut stream = StreamOwned::new(server, conn);
    // A client refusing our certificate or our versions stops here.
    if stream.conn.complete_io(&mut stream.sock).is_err() {
        return;
    }
    let sni = stream.conn.server_name().map(str::to_string);
    let version = stream.conn.protocol_version();
    let mut reader = BufReader::new(&mut stream);
    let (mut host, mut length) = (String::new(), 0usize);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "host" => host = v.trim().to_string(),
                "content-length" => length = v.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    log.lock().push(Delivery { sni, host, version });
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    stream.conn.send_close_notify();
    let _ = stream.flush();
}

fn notification() -> Notification {
    let alert = Alert {
        labels: Labels::from_pairs(&[("alertname", "CourseSiteDown")]),
        annotations: Labels::default(),
        starts_at: SystemTime::now(),
        ends_at: SystemTime::now() + Duration::from_secs(300),
        generator_url: String::new(),
    };
    let fingerprint = belfry::alerting::fingerprint::fingerprint(&alert.labels);
    Notification::new(
        "lms",
        "{}:{}",
        Labels::default(),
        "http://belfry.example",
        vec![NotifiedAlert {
            alert,
            fingerprint,
            resolved: false,
        }],
    )
}

/// The notifier of a webhook config given as YAML, as in `alertmanager.yml`.
fn notifier(url: &str, ca: &Path, tls_lines: &str) -> WebhookNotifier {
    let yaml = format!(
        "url: '{url}'\nhttp_config:\n  tls_config:\n    ca_file: '{}'\n{tls_lines}",
        ca.display()
    );
    let cfg: WebhookConfig = serde_norway::from_str(&yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
    WebhookNotifier::new(&cfg).unwrap()
}

async fn deliver(n: &WebhookNotifier) -> Result<(), String> {
    n.notify(&notification()).await.map(|_| ()).map_err(|e| e.message)
}

#[tokio::test]
async fn server_name_is_verified_and_sent_as_sni() {
    belfry::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let leaf = pki.issue("alerts", &["alerts.internal"], false);
    let receiver = Receiver::start(&leaf, rustls::ALL_VERSIONS);
    let ca = pki.ca_file();

    let named = notifier(&receiver.url(), &ca, "    server_name: alerts.internal\n");
    deliver(&named).await.unwrap();
    let seen = receiver.deliveries();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].sni.as_deref(), Some("alerts.internal"));
    // The Host header stays the URL's.
    assert_eq!(seen[0].host, receiver.addr.to_string());

    let unnamed = notifier(&receiver.url(), &ca, "");
    let err = deliver(&unnamed).await.unwrap_err();
    assert!(
        err.contains("certificate not valid for name \"127.0.0.1\""),
        "{err}"
    );
    let wrong = notifier(&receiver.url(), &ca, "    server_name: other.internal\n");
    let err = deliver(&wrong).await.unwrap_err();
    assert!(
        err.contains("certificate not valid for name \"other.internal\""),
        "{err}"
    );
    assert_eq!(receiver.deliveries().len(), 1, "only the named one got through");
}

#[tokio::test]
async fn min_version_above_the_server_fails() {
    belfry::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let leaf = pki.issue("tls12", &["127.0.0.1"], false);
    let receiver = Receiver::start(&leaf, &[&rustls::version::TLS12]);
    let ca = pki.ca_file();

    deliver(&notifier(&receiver.url(), &ca, "")).await.unwrap();
    let err = deliver(&notifier(&receiver.url(), &ca, "    min_version: TLS13\n"))
        .await
        .unwrap_err();
    assert!(err.contains(&receiver.url()), "{err}");
    let seen = receiver.deliveries();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].version, Some(rustls::ProtocolVersion::TLSv1_2));
}

#[tokio::test]
async fn max_version_below_the_server_fails() {
    belfry::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let leaf = pki.issue("tls13", &["127.0.0.1"], false);
    let receiver = Receiver::start(&leaf, &[&rustls::version::TLS13]);
    let ca = pki.ca_file();

    deliver(&notifier(&receiver.url(), &ca, "")).await.unwrap();
    let err = deliver(&notifier(&receiver.url(), &ca, "    max_version: TLS12\n"))
        .await
        .unwrap_err();
    assert!(err.contains(&receiver.url()), "{err}");
    let seen = receiver.deliveries();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].version, Some(rustls::ProtocolVersion::TLSv1_3));
}

#[test]
fn bad_ca_file_refuses_the_receiver() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate\n").unwrap();
    let yaml = format!(
        "url: 'https://127.0.0.1:1/'\nhttp_config:\n  tls_config:\n    ca_file: '{}'\n",
        ca.display()
    );
    let cfg: WebhookConfig = serde_norway::from_str(&yaml).unwrap();
    let err = WebhookNotifier::new(&cfg).err().unwrap().to_string();
    assert_eq!(
        err,
        format!("webhook tls_config: no certificate found in {}", ca.display())
    );
}
