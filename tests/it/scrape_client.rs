//! The scrape client on the wire, against a real `belfry serve`: TLS
//! (`ca_file`, client certificates, `server_name` as SNI and for
//! verification, `insecure_skip_verify`) against loopback HTTPS targets with
//! certificates made here, the `Authorization` header each auth setting
//! sends, and a target slower than `scrape_timeout`. Outcomes are read where
//! a user reads them: `up` through the query API and `lastError` on
//! `/api/v1/targets`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};

use crate::support::{BelfryServer, get_json, wait_for};

/// One request a test target received.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    headers: HashMap<String, String>,
    /// The SNI the client sent (TLS targets only).
    sni: Option<String>,
    /// Whether the client presented a certificate (TLS targets only).
    client_cert: bool,
}

/// A loopback target answering every path with a small exposition body,
/// over plain HTTP or TLS, recording what it was sent. `/slow` answers only
/// after two seconds.
struct Target {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Target {
    fn start(tls: Option<Arc<ServerConfig>>) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (tls, log) = (tls.clone(), log.clone());
                std::thread::spawn(move || serve(conn, tls, &log));
            }
        });
        Target { addr, seen }
    }

    fn requests(&self, path: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

fn serve(conn: TcpStream, tls: Option<Arc<ServerConfig>>, log: &Mutex<Vec<Seen>>) {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    match tls {
        None => answer(conn, None, false, log),
        Some(config) => {
            let Ok(server) = ServerConnection::new(config) else {
                return;
            };
            let mut stream = StreamOwned::new(server, conn);
            // The handshake runs on the first read; a client that refuses
            // our certificate (or has none to give) ends here.
            if stream.conn.complete_io(&mut stream.sock).is_err() {
                return;
            }
            let sni = stream.conn.server_name().map(str::to_string);
            let client_cert = stream.conn.peer_certificates().is_some_and(|c| !c.is_empty());
            answer(&mut stream, sni, client_cert, log);
            stream.conn.send_close_notify();
            let _ = stream.flush();
        }
    }
}

fn answer(stream: impl Read + Write, sni: Option<String>, client_cert: bool, log: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
    let mut headers = HashMap::new();
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
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    log.lock().push(Seen {
        path: path.clone(),
        headers,
        sni,
        client_cert,
    });
    if path == "/slow" {
        std::thread::sleep(Duration::from_secs(2));
    }
    let body = "# TYPE wire_test_value gauge\nwire_test_value 7\n";
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let stream = reader.get_mut();
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

/// A CA and certificates it signed, written as PEM files.
pub(crate) struct Pki {
    dir: PathBuf,
    ca: CertifiedIssuer<'static, KeyPair>,
}

pub(crate) struct Issued {
    pub(crate) cert_file: PathBuf,
    pub(crate) key_file: PathBuf,
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
}

impl Pki {
    pub(crate) fn new(dir: &Path) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "belfry test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        Pki {
            dir: dir.to_path_buf(),
            ca,
        }
    }

    pub(crate) fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A leaf for `names` (DNS names or IP addresses), for a server or a client.
    pub(crate) fn issue(&self, stem: &str, names: &[&str], client: bool) -> Issued {
        self.issue_with(stem, names, client, |_| {})
    }

    /// As [`Pki::issue`], with `edit` changing the parameters first (a
    /// validity period, say).
    pub(crate) fn issue_with(
        &self,
        stem: &str,
        names: &[&str],
        client: bool,
        edit: impl FnOnce(&mut CertificateParams),
    ) -> Issued {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        edit(&mut params);
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let cert_file = self.dir.join(format!("{stem}.pem"));
        let key_file = self.dir.join(format!("{stem}-key.pem"));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        Issued {
            cert_file,
            key_file,
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }

    /// A TLS server config with `leaf`; with `client_ca`, clients must
    /// present a certificate this CA signed.
    fn server_config(&self, leaf: &Issued, require_client_cert: bool) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if require_client_cert {
            let mut roots = RootCertStore::empty();
            roots.add(self.ca.der().clone()).unwrap();
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder
            .with_single_cert(leaf.chain.clone(), leaf.key.clone_key())
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

/// One scrape job: its name (also its metrics path, so a shared target
/// tells the jobs apart), target, and extra YAML lines (6-space indent).
fn job(name: &str, target: SocketAddr, extra: &str) -> String {
    format!(
        "  - job_name: {name}\n    metrics_path: /{name}\n    scrape_interval: 300ms\n    static_configs: [{{targets: ['{target}']}}]\n{extra}"
    )
}

fn start_belfry(dir: &Path, jobs: &[String]) -> BelfryServer {
    let config = dir.join("belfry.yml");
    std::fs::write(&config, format!("scrape_configs:\n{}", jobs.concat())).unwrap();
    BelfryServer::start(&dir.join("data"), Some(&config))
}

/// Each job's (health, lastError) once every target has been scraped, and
/// its `up` as the query API answers it.
fn outcomes(server: &BelfryServer, jobs: usize) -> HashMap<String, (String, String, f64)> {
    let targets = wait_for(Duration::from_secs(20), "every target scraped", || {
        let v = get_json(&server.url("/api/v1/targets"));
        let active = v["data"]["activeTargets"].as_array()?.clone();
        let done = active.len() == jobs && active.iter().all(|t| t["health"] != "unknown");
        done.then_some(active)
    });
    let v = get_json(&server.url("/api/v1/query?query=up"));
    let up: HashMap<String, f64> = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let job = r["metric"]["job"].as_str().unwrap().to_string();
            (job, r["value"][1].as_str().unwrap().parse().unwrap())
        })
        .collect();
    targets
        .iter()
        .map(|t| {
            let job = t["scrapePool"].as_str().unwrap().to_string();
            let value = *up.get(&job).unwrap_or_else(|| panic!("no up for {job}: {v}"));
            let health = t["health"].as_str().unwrap().to_string();
            let error = t["lastError"].as_str().unwrap().to_string();
            (job, (health, error, value))
        })
        .collect()
}

#[track_caller]
fn assert_up(outcomes: &HashMap<String, (String, String, f64)>, job: &str) {
    let (health, error, up) = &outcomes[job];
    assert_eq!((health.as_str(), *up), ("up", 1.0), "{job}: {error}");
}

#[track_caller]
fn assert_down(outcomes: &HashMap<String, (String, String, f64)>, job: &str, error_part: &str) {
    let (health, error, up) = &outcomes[job];
    assert_eq!((health.as_str(), *up), ("down", 0.0), "{job}: {error}");
    assert!(
        error.contains(error_part),
        "{job}: want {error_part:?} in {error:?}"
    );
}

#[test]
fn tls_ca_client_certs_server_name_and_insecure_skip_verify() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    // A: valid for the address scraped. B: valid only for a name that is not
    // the address, reachable through server_name. C: wants a client cert.
    let a_cert = pki.issue("a", &["localhost", "127.0.0.1"], false);
    let b_cert = pki.issue("b", &["belfry-target.test"], false);
    let client = pki.issue("client", &["belfry-scraper"], true);
    let a = Target::start(Some(pki.server_config(&a_cert, false)));
    let b = Target::start(Some(pki.server_config(&b_cert, false)));
    let c = Target::start(Some(pki.server_config(&a_cert, true)));
    let ca = pki.ca_file().display().to_string();
    let tls = |lines: &str| format!("    scheme: https\n    tls_config:\n{lines}");
    let jobs = [
        job("ca_ok", a.addr, &tls(&format!("      ca_file: {ca}\n"))),
        job("ca_missing", a.addr, "    scheme: https\n"),
        job("insecure", a.addr, &tls("      insecure_skip_verify: true\n")),
        job(
            "name_match",
            b.addr,
            &tls(&format!(
                "      ca_file: {ca}\n      server_name: belfry-target.test\n"
            )),
        ),
        job(
            "name_mismatch",
            b.addr,
            &tls(&format!("      ca_file: {ca}\n      server_name: other.test\n")),
        ),
        job("name_absent", b.addr, &tls(&format!("      ca_file: {ca}\n"))),
        job(
            "client_cert",
            c.addr,
            &tls(&format!(
                "      ca_file: {ca}\n      cert_file: {}\n      key_file: {}\n",
                client.cert_file.display(),
                client.key_file.display()
            )),
        ),
        job(
            "client_cert_missing",
            c.addr,
            &tls(&format!("      ca_file: {ca}\n")),
        ),
    ];
    let server = start_belfry(dir.path(), &jobs);
    let got = outcomes(&server, jobs.len());

    assert_up(&got, "ca_ok");
    assert_down(&got, "ca_missing", "UnknownIssuer");
    assert_up(&got, "insecure");
    assert_up(&got, "name_match");
    assert_down(
        &got,
        "name_mismatch",
        "certificate not valid for name \"other.test\"",
    );
    // Errors name the target's URL, not the one re-addressed for SNI.
    assert!(
        got["name_mismatch"]
            .1
            .contains(&format!("https://{}/name_mismatch", b.addr))
    );
    assert_down(
        &got,
        "name_absent",
        "certificate not valid for name \"127.0.0.1\"",
    );
    assert_up(&got, "client_cert");
    assert_down(&got, "client_cert_missing", "CertificateRequired");

    // server_name travels as SNI (a bare IP in the URL would send none),
    // while the Host header stays the target's address.
    let seen = b.requests("/name_match");
    assert!(!seen.is_empty());
    for s in &seen {
        assert_eq!(s.sni.as_deref(), Some("belfry-target.test"), "{s:?}");
        assert_eq!(s.headers["host"], b.addr.to_string(), "{s:?}");
    }
    assert!(c.requests("/client_cert").iter().all(|s| s.client_cert));
    assert!(
        c.requests("/client_cert_missing").is_empty(),
        "the handshake failed"
    );
    // The scraped sample of a good TLS job is stored.
    let v = get_json(&server.url("/api/v1/query?query=wire_test_value{job=\"client_cert\"}"));
    assert_eq!(v["data"]["result"][0]["value"][1], "7", "{v}");
    server.stop();
}

#[test]
fn authorization_headers_on_the_wire_and_scrape_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let secret = |name: &str, content: &str| {
        let path = dir.path().join(name);
        // A trailing newline, as editors leave it: it is not part of the secret.
        std::fs::write(&path, format!("{content}\n")).unwrap();
        path.display().to_string()
    };
    let credentials_file = secret("credentials", "from-credentials-file");
    let bearer_file = secret("bearer", "from-bearer-file");
    let password_file = secret("password", "pw from file");
    let t = Target::start(None);
    let jobs = [
        job(
            "authz_inline",
            t.addr,
            "    authorization: {credentials: inline-secret}\n",
        ),
        job(
            "authz_type",
            t.addr,
            "    authorization: {type: Token, credentials: typed-secret}\n",
        ),
        job(
            "authz_file",
            t.addr,
            &format!("    authorization: {{credentials_file: '{credentials_file}'}}\n"),
        ),
        job("bearer", t.addr, "    bearer_token: legacy-token\n"),
        job(
            "bearer_file",
            t.addr,
            &format!("    bearer_token_file: '{bearer_file}'\n"),
        ),
        job(
            "basic",
            t.addr,
            "    basic_auth: {username: alice, password: 's3cr3t'}\n",
        ),
        job(
            "basic_file",
            t.addr,
            &format!("    basic_auth: {{username: bob, password_file: '{password_file}'}}\n"),
        ),
        job("no_auth", t.addr, ""),
        format!(
            "  - job_name: slow\n    metrics_path: /slow\n    scrape_interval: 1s\n    scrape_timeout: 300ms\n    static_configs: [{{targets: ['{}']}}]\n",
            t.addr
        ),
    ];
    let server = start_belfry(dir.path(), &jobs);
    let got = outcomes(&server, jobs.len());

    let want = [
        ("authz_inline", Some("Bearer inline-secret")),
        ("authz_type", Some("Token typed-secret")),
        ("authz_file", Some("Bearer from-credentials-file")),
        ("bearer", Some("Bearer legacy-token")),
        ("bearer_file", Some("Bearer from-bearer-file")),
        // base64("alice:s3cr3t") and base64("bob:pw from file").
        ("basic", Some("Basic YWxpY2U6czNjcjN0")),
        ("basic_file", Some("Basic Ym9iOnB3IGZyb20gZmlsZQ==")),
        ("no_auth", None),
    ];
    for (name, header) in want {
        assert_up(&got, name);
        let seen = t.requests(&format!("/{name}"));
        assert!(!seen.is_empty(), "{name}: no request");
        for s in seen {
            assert_eq!(
                s.headers.get("authorization").map(String::as_str),
                header,
                "{name}"
            );
        }
    }

    assert_down(&got, "slow", "scrape timed out after 300ms");
    assert!(!t.requests("/slow").is_empty(), "the slow target was asked");
    server.stop();
}
