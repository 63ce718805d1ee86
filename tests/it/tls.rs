//! HTTPS on Belfry's listener (`server.tls`), with certificates made here:
//! the API over HTTPS with HSTS, h2 and HTTP/1.1 by ALPN (curl), plain HTTP
//! to the HTTPS port answered 400 without harm, a silent client holding up
//! no one, the certificate files picked up again when they change (a bad
//! pair keeping the old one and counted), and — in process, through
//! `belfry::web::serve` — the client's address reaching handlers on both
//! paths and graceful shutdown waiting for a request in flight.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::routing::get;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use crate::scrape_client::{Issued, Pki};
use crate::support::{BelfryServer, block, http_client, peer_binary};

const HSTS_ONE_YEAR: &str = "max-age=31536000";
/// 2031-05-17T00:00:00Z and 2032-02-29T00:00:00Z.
const FIRST_NOT_AFTER: i64 = 1_936_742_400;
const NEXT_NOT_AFTER: i64 = 1_961_625_600;

fn issue(pki: &Pki, stem: &str, until: (i32, u8, u8)) -> Issued {
    pki.issue_with(stem, &["127.0.0.1", "localhost"], false, |p| {
        p.not_after = rcgen::date_time_ymd(until.0, until.1, until.2);
    })
}

/// A configuration naming `server.pem` and `server-key.pem` relative to
/// its own directory, as a deployment would.
fn write_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("belfry.yml");
    std::fs::write(
        &path,
        format!("server:\n  tls:\n    cert_file: server.pem\n    key_file: server-key.pem\n{extra}"),
    )
    .unwrap();
    path
}

/// The value of one series in a `/metrics` text, if present.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn metrics(server: &BelfryServer) -> String {
    let resp = server.client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

/// The leaf certificate a new connection is served (a new client, so no
/// pooled connection is reused).
async fn served_leaf(server: &BelfryServer) -> Vec<u8> {
    let resp = server
        .client()
        .get(server.url("/-/healthy"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|t| t.peer_certificate())
        .expect("the server presented a certificate")
        .to_vec()
}

/// A TLS client trusting `ca_file` only, offering `alpn`.
fn connector(ca_file: &Path, alpn: &[&[u8]]) -> TlsConnector {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

/// Writes `GET path` on an open connection (HTTP/1.1, closing after it)
/// and returns the whole answer.
async fn get_on<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    path: &str,
) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn the_api_over_https_with_hsts_and_alpn_while_plain_http_and_silent_clients_harm_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let leaf = issue(&pki, "server", (2031, 5, 17));
    let config = write_config(dir.path(), "");
    let server = BelfryServer::start_https(&dir.path().join("data"), &config, &pki.ca_file());

    block(async {
        let client = server.client();
        let resp = client
            .get(server.url("/api/v1/query?query=1%2B1"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["strict-transport-security"], HSTS_ONE_YEAR);
        let served = resp
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|t| t.peer_certificate())
            .unwrap()
            .to_vec();
        assert_eq!(served, leaf.chain[0].as_ref());
        let body: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
        assert_eq!(body["status"], "success");
        assert_eq!(body["data"]["result"][1], "2");
        // Refusals and unknown paths carry it too.
        let resp = client.get(server.url("/no/such/page")).send().await.unwrap();
        assert_eq!(resp.status(), 404);
        assert_eq!(resp.headers()["strict-transport-security"], HSTS_ONE_YEAR);

        // A client that connects and never starts its handshake: another
        // is served meanwhile (the handshake timeout is 10 s; this request
        // gives up after 5).
        let silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let resp = server
            .client()
            .get(server.url("/-/healthy"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("served while another client's handshake is pending");
        assert_eq!(resp.status(), 200);

        // Plain HTTP to the HTTPS port: a readable 400, nothing else.
        let resp = http_client()
            .get(format!("http://{}/api/v1/query?query=1", server.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
        assert!(resp.text().await.unwrap().contains("https://"));

        // Bytes that are neither TLS nor HTTP: the handshake fails, the
        // connection is closed.
        let mut garbage = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        // A handshake record holding a ClientHello of length 0.
        garbage
            .write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00])
            .await
            .unwrap();
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), garbage.read_to_end(&mut rest)).await;

        drop(silent);
        let text = metrics(&server).await;
        assert_eq!(
            metric(
                &text,
                r#"belfry_tls_handshake_failures_total{reason="plain_http"}"#
            ),
            Some(1.0),
            "{text}"
        );
        assert!(
            metric(&text, r#"belfry_tls_handshake_failures_total{reason="error"}"#).unwrap_or(0.0) >= 1.0,
            "{text}"
        );
        assert_eq!(
            metric(&text, "belfry_tls_certificate_expiry_timestamp_seconds"),
            Some(FIRST_NOT_AFTER as f64)
        );
        // And the server is as it was.
        let resp = client
            .get(server.url("/api/v1/query?query=3"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    });

    // h2 and HTTP/1.1 as ALPN settles them, with curl.
    if let Some(curl) = peer_binary("curl") {
        for (flag, want) in [("--http2", "2"), ("--http1.1", "1.1")] {
            let out = Command::new(&curl)
                .args(["-sS", "-o", "/dev/null", "-w", "%{http_version}", "--cacert"])
                .arg(pki.ca_file())
                .arg(flag)
                .arg(server.url("/api/v1/query?query=1"))
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(String::from_utf8_lossy(&out.stdout), want, "curl {flag}");
        }
    }

    // Graceful shutdown still ends the process cleanly.
    server.stop();
}

#[test]
fn changed_certificate_files_are_served_to_new_connections_and_a_bad_pair_keeps_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let first = issue(&pki, "first", (2031, 5, 17));
    let put_in_place = |pair: &Issued| {
        // Each file written beside and renamed over, as a certificate
        // tool does.
        for (from, to) in [
            (&pair.key_file, "server-key.pem"),
            (&pair.cert_file, "server.pem"),
        ] {
            let staged = dir.path().join(format!("{to}.tmp"));
            std::fs::copy(from, &staged).unwrap();
            std::fs::rename(&staged, dir.path().join(to)).unwrap();
        }
    };
    put_in_place(&first);
    let config = write_config(dir.path(), "");
    let server = BelfryServer::start_https(&dir.path().join("data"), &config, &pki.ca_file());

    block(async {
        assert_eq!(served_leaf(&server).await, first.chain[0].as_ref());
        // A connection opened now, before the change.
        let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let mut open = connector(&pki.ca_file(), &[b"http/1.1"])
            .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
            .await
            .unwrap();

        // A renewal lands as files replaced in place; no signal.
        let next = issue(&pki, "renewed", (2032, 2, 29));
        put_in_place(&next);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if served_leaf(&server).await == next.chain[0].as_ref() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the renewed certificate was not served within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let text = metrics(&server).await;
        assert_eq!(
            metric(&text, "belfry_tls_certificate_expiry_timestamp_seconds"),
            Some(NEXT_NOT_AFTER as f64)
        );
        // The connection opened before keeps its certificate and works.
        let (_, session) = open.get_ref();
        assert_eq!(
            session.peer_certificates().unwrap()[0].as_ref(),
            first.chain[0].as_ref()
        );
        let answer = get_on(&mut open, "/-/healthy").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

        // A broken certificate file: refused, counted, the renewed pair
        // still served. The reload request itself is refused too, since
        // the configuration names a pair that does not load.
        let failures_before =
            metric(&text, "belfry_tls_reload_failures_total").expect("the failure counter is exported");
        std::fs::write(
            dir.path().join("server.pem"),
            "-----BEGIN CERTIFICATE-----\nnot base64!\n",
        )
        .unwrap();
        let resp = server
            .client()
            .post(server.url("/-/reload"))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body = resp.text().await.unwrap();
        assert_ne!(status, 200, "{body}");
        assert!(body.contains("server.pem") && body.contains("bad PEM"), "{body}");
        let text = metrics(&server).await;
        assert!(
            metric(&text, "belfry_tls_reload_failures_total").unwrap() > failures_before,
            "{text}"
        );
        assert_eq!(served_leaf(&server).await, next.chain[0].as_ref());
        assert_eq!(
            metric(&text, "belfry_tls_certificate_expiry_timestamp_seconds"),
            Some(NEXT_NOT_AFTER as f64)
        );

        // Fixed again, and a reload request picks it up at once.
        put_in_place(&first);
        let resp = server
            .client()
            .post(server.url("/-/reload"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(served_leaf(&server).await, first.chain[0].as_ref());
    });
    server.stop();
}

#[test]
fn a_configuration_with_a_bad_pair_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let a = issue(&pki, "server", (2031, 5, 17));
    let b = issue(&pki, "other", (2031, 5, 17));
    std::fs::copy(&b.key_file, &a.key_file).unwrap();
    let config = write_config(dir.path(), "");
    let out = Command::new(env!("CARGO_BIN_EXE_belfry"))
        .args(["check", "config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("server.tls") && err.contains("server-key.pem") && err.contains("does not belong to"),
        "{err}"
    );
}

/// A router answering with the client address its handler was given.
fn echo_peer() -> axum::Router {
    axum::Router::new().route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    )
}

#[test]
fn handlers_see_the_client_address_over_http_and_https_and_shutdown_waits_for_requests() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let leaf = issue(&pki, "server", (2031, 5, 17));
    let tls_config = belfry::config::ServerTlsConfig {
        cert_file: leaf.cert_file.clone(),
        key_file: leaf.key_file.clone(),
        hsts_max_age: belfry::model::PromDuration::ZERO,
    };
    block(async {
        // Plain HTTP.
        let registry = belfry::selfmetrics::Registry::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let plain = tokio::spawn(belfry::web::serve(listener, None, echo_peer(), shutdown.clone()));
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let me = tcp.local_addr().unwrap();
        let answer = get_on(&mut tcp, "/peer").await;
        assert!(answer.ends_with(&me.to_string()), "{answer}");
        shutdown.cancel();
        plain.await.unwrap().unwrap();

        // HTTPS, with a request in flight when shutdown begins.
        let tls = belfry::web::tls::ServerTls::new(&tls_config, &registry).unwrap();
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let hold = Arc::new(parking_lot::Mutex::new(Some((entered_tx, release_rx))));
        let app = echo_peer().route(
            "/slow",
            get(move || {
                let hold = hold.clone();
                async move {
                    let (entered, release) = hold.lock().take().unwrap();
                    let _ = entered.send(());
                    let _ = release.await;
                    "finished"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let served = tokio::spawn(belfry::web::serve(listener, Some(tls), app, shutdown.clone()));
        let connector = connector(&pki.ca_file(), &[b"http/1.1"]);
        let name = ServerName::try_from("127.0.0.1").unwrap();

        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let me = tcp.local_addr().unwrap();
        let mut stream = connector.connect(name.clone(), tcp).await.unwrap();
        let answer = get_on(&mut stream, "/peer").await;
        assert!(answer.ends_with(&me.to_string()), "{answer}");

        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut slow = connector.connect(name, tcp).await.unwrap();
        let in_flight = tokio::spawn(async move { get_on(&mut slow, "/slow").await });
        entered_rx.await.unwrap();
        shutdown.cancel();
        // The server keeps running while the request is unanswered...
        tokio::task::yield_now().await;
        assert!(!served.is_finished());
        // ...answers it, then stops.
        release_tx.send(()).unwrap();
        let answer = in_flight.await.unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("finished"),
            "{answer}"
        );
        served.await.unwrap().unwrap();
    });
}
