//! The log protocol decoders fed by real senders over real sockets:
//! python-logging-loki, Elastic's Python client and the OpenTelemetry SDK
//! over HTTP (answered with our own bulk and OTLP answers, which the
//! clients parse);
//! util-linux `logger` sending syslog (RFC 5424 and 3164) over UDP and TCP
//! (octet-counted and newline framing), and Python's graypy sending GELF
//! over UDP (zlib, chunked) and TCP. The bytes are read here and decoded
//! as the listeners will once the logs store takes the entries.

use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::process::Command;
use std::time::Duration;

use belfry::logs::ingest::gelf::{ChunkAssembler, ChunkLimits, NulFramer, decode_payload};
use belfry::logs::ingest::syslog::{MAX_FRAME, TcpFramer, decode_datagram, decode_message};
use belfry::logs::{Entry, LevelHint};
use belfry::selfmetrics::Registry;

use crate::support::peer_binary;

fn label<'a>(e: &'a Entry, name: &str) -> Option<&'a str> {
    e.labels.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

fn udp() -> (UdpSocket, u16) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

/// Everything one TCP connection sends, until the sender closes it.
fn accept_all(listener: TcpListener) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut out = Vec::new();
        conn.read_to_end(&mut out).unwrap();
        out
    })
}

#[test]
fn logger_syslog_over_udp_and_tcp() {
    let Some(logger) = peer_binary("logger") else {
        return;
    };
    let (socket, port) = udp();
    let run = |args: &[&str]| {
        let status = Command::new(&logger).args(args).status().unwrap();
        assert!(status.success(), "logger {args:?}");
    };
    let port_s = port.to_string();
    run(&[
        "--server",
        "127.0.0.1",
        "--port",
        &port_s,
        "--udp",
        "--rfc5424",
        "-t",
        "lms-web",
        "-p",
        "local0.err",
        "--sd-id",
        "req@32473",
        "--sd-param",
        "request_id=\"r-7\"",
        "login failed for jane@uni.example",
    ]);
    run(&[
        "--server",
        "127.0.0.1",
        "--port",
        &port_s,
        "--udp",
        "--rfc3164",
        "-t",
        "lms-cron",
        "-p",
        "cron.warning",
        "nightly export late",
    ]);
    let mut buf = [0u8; 65536];
    let mut entries = Vec::new();
    for _ in 0..2 {
        let n = socket.recv(&mut buf).unwrap();
        entries.push(decode_datagram(&buf[..n], now_ns()).unwrap());
    }
    let (a, b) = (&entries[0], &entries[1]);
    assert_eq!(a.line, "login failed for jane@uni.example");
    assert_eq!(a.level, Some(LevelHint::Syslog(3)));
    assert_eq!(
        (label(a, "app"), label(a, "facility")),
        (Some("lms-web"), Some("local0"))
    );
    assert_eq!(a.fields["req@32473.request_id"], "r-7");
    assert!((now_ns() - a.timestamp_ns.unwrap()).abs() < 60_000_000_000);
    assert_eq!(b.line, "nightly export late");
    assert_eq!(b.level, Some(LevelHint::Syslog(4)));
    assert_eq!(
        (label(b, "app"), label(b, "facility")),
        (Some("lms-cron"), Some("cron"))
    );
    assert!((now_ns() - b.timestamp_ns.unwrap()).abs() < 60_000_000_000);

    for (framing, tcp_args) in [
        ("octet", &["--tcp", "--octet-count", "--rfc5424"][..]),
        ("newline", &["--tcp", "--rfc3164"][..]),
    ] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp_port = listener.local_addr().unwrap().port().to_string();
        let received = accept_all(listener);
        let mut args = vec![
            "--server",
            "127.0.0.1",
            "--port",
            &tcp_port,
            "-t",
            "lms-api",
            "-p",
            "user.info",
        ];
        args.extend_from_slice(tcp_args);
        args.push(framing);
        run(&args);
        let stream = received.join().unwrap();
        let mut framer = TcpFramer::new(MAX_FRAME);
        let mut frames: Vec<Vec<u8>> = framer.push(&stream).into_iter().map(Result::unwrap).collect();
        frames.extend(framer.finish().map(Result::unwrap));
        assert_eq!(
            frames.len(),
            1,
            "{framing}: {:?}",
            String::from_utf8_lossy(&stream)
        );
        let e = decode_message(&frames[0], now_ns()).unwrap();
        assert_eq!(e.line, framing);
        assert_eq!(label(&e, "app"), Some("lms-api"));
        assert_eq!(e.level, Some(LevelHint::Syslog(6)));
    }
}

/// A python3 that can import graypy, or None (the test skips).
fn python_with_graypy() -> Option<&'static str> {
    let found = ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import graypy"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        if std::env::var_os("BELFRY_REQUIRE_PEERS").is_some() {
            panic!(
                "BELFRY_REQUIRE_PEERS is set but python3 cannot import graypy (scripts/install-test-deps)"
            );
        }
        eprintln!("skipping: python3 with graypy is not installed (scripts/install-test-deps installs it)");
    }
    found
}

const GRAYPY_SCRIPT: &str = r#"
import logging, random, sys, graypy
udp_port, tcp_port = int(sys.argv[1]), int(sys.argv[2])
random.seed(11)
log = logging.getLogger("lms"); log.setLevel(logging.DEBUG)
udp = graypy.GELFUDPHandler("127.0.0.1", udp_port, gelf_chunker=graypy.handler.GELFWarningChunker(chunk_size=1420), extra_fields=True)
log.addHandler(udp)
log.error("grade sync failed", extra={"request_id": "r-1", "status": 502})
log.info("big " + "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8000)))
log.removeHandler(udp)
tcp = graypy.GELFTCPHandler("127.0.0.1", tcp_port, extra_fields=True)
log.addHandler(tcp)
log.warning("over tcp one", extra={"duration_ms": 1234.5})
log.warning("over tcp two")
tcp.close()
"#;

#[test]
fn graypy_gelf_over_udp_chunked_and_tcp() {
    let Some(python) = python_with_graypy() else {
        return;
    };
    let (socket, udp_port) = udp();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_port = listener.local_addr().unwrap().port();
    let received = accept_all(listener);
    let status = Command::new(python)
        .args(["-c", GRAYPY_SCRIPT, &udp_port.to_string(), &tcp_port.to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    let registry = Registry::new();
    let mut assembler = ChunkAssembler::new(ChunkLimits::default(), &registry);
    let mut entries = Vec::new();
    let mut buf = [0u8; 65536];
    let mut datagrams = 0;
    while entries.len() < 2 {
        let n = socket.recv(&mut buf).unwrap();
        datagrams += 1;
        if let Some(payload) = assembler.accept(&buf[..n], now_ns()).unwrap() {
            entries.push(decode_payload(&payload, 1 << 20).unwrap());
        }
    }
    assert!(
        datagrams > 2,
        "the big message must have come in chunks ({datagrams} datagrams)"
    );
    assert_eq!(assembler.held_bytes(), 0);
    assert_eq!(entries[0].line, "grade sync failed");
    assert_eq!(entries[0].level, Some(LevelHint::Syslog(3)));
    assert_eq!(entries[0].fields["request_id"], "r-1");
    assert_eq!(entries[0].fields["status"], 502);
    assert!(entries[1].line.starts_with("big ") && entries[1].line.len() == 8004);

    let stream = received.join().unwrap();
    let mut framer = NulFramer::new(1 << 20);
    let mut frames: Vec<Vec<u8>> = framer.push(&stream).into_iter().map(Result::unwrap).collect();
    frames.extend(framer.finish().map(Result::unwrap));
    let tcp: Vec<Entry> = frames
        .iter()
        .map(|f| decode_payload(f, 1 << 20).unwrap())
        .collect();
    assert_eq!(
        tcp.iter().map(|e| e.line.as_str()).collect::<Vec<_>>(),
        ["over tcp one", "over tcp two"]
    );
    assert_eq!(tcp[0].fields["duration_ms"], 1234.5);
    assert_eq!(tcp[0].level, Some(LevelHint::Syslog(4)));
}

/// One HTTP request as a client sent it.
struct Captured {
    path: String,
    content_type: String,
    body: Vec<u8>,
}

/// A minimal HTTP/1.1 server for the HTTP senders: keep-alive, bodies by
/// `Content-Length`; each request goes to the test, whose answer (status,
/// content type, body) goes back to the client.
fn http_capture(
    answer: impl Fn(&Captured) -> (u16, &'static str, Vec<u8>) + Send + Sync + 'static,
) -> (u16, std::sync::mpsc::Receiver<Captured>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let (tx, answer) = (tx.clone(), answer.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut writer = conn;
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let (mut length, mut content_type) = (0usize, String::new());
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).unwrap();
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        let (name, value) = header.split_once(':').unwrap();
                        match name.to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap(),
                            "content-type" => content_type = value.trim().to_string(),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let captured = Captured {
                        path,
                        content_type,
                        body,
                    };
                    let (status, answer_type, answer_body) = answer(&captured);
                    let _ = tx.send(captured);
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: {answer_type}\r\nContent-Length: {}\r\nX-Elastic-Product: Elasticsearch\r\n\r\n",
                        answer_body.len()
                    );
                    writer.write_all(head.as_bytes()).unwrap();
                    writer.write_all(&answer_body).unwrap();
                }
            });
        }
    });
    (port, rx)
}

const HTTP_CLIENTS_MODULES: &str =
    "import logging_loki, elasticsearch, opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http";

const HTTP_CLIENTS_SCRIPT: &str = r#"
import json, logging, sys
base = sys.argv[1]
import logging_loki
loki = logging.getLogger("loki"); loki.setLevel(logging.INFO)
loki.addHandler(logging_loki.LokiHandler(url=base + "/loki/api/v1/push", tags={"service": "lms-api"}, version="1"))
loki.error("login failed for jane@uni.example", extra={"tags": {"request_id": "r-1"}})

from elasticsearch import Elasticsearch
es = Elasticsearch(base)
answer = es.bulk(operations=[
    {"index": {"_index": "lms-logs"}}, {"@timestamp": "2024-05-01T10:00:00Z", "message": "bulk ok", "log.level": "warn", "service": {"name": "lms-api"}},
    {"delete": {"_index": "lms-logs", "_id": "1"}},
])
print(json.dumps({"errors": answer["errors"], "statuses": [list(i.values())[0]["status"] for i in answer["items"]]}))

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk.resources import Resource
provider = LoggerProvider(resource=Resource.create({"service.name": "lms-worker"}))
provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=base + "/v1/logs")))
otel = logging.getLogger("otel"); otel.setLevel(logging.INFO)
otel.addHandler(LoggingHandler(logger_provider=provider))
otel.warning("celery task retried", extra={"task": "grades.export"})
provider.shutdown()
"#;

#[test]
fn python_http_senders_loki_elasticsearch_otlp() {
    use belfry::logs::ingest::{bulk, loki, otlp};
    let python = ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", HTTP_CLIENTS_MODULES])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(python) = python else {
        if std::env::var_os("BELFRY_REQUIRE_PEERS").is_some() {
            panic!(
                "BELFRY_REQUIRE_PEERS is set but python3 lacks python-logging-loki, elasticsearch or the OpenTelemetry SDK (scripts/install-test-deps)"
            );
        }
        eprintln!(
            "skipping: python3 with python-logging-loki, elasticsearch and the OpenTelemetry SDK is not installed"
        );
        return;
    };
    let (port, requests) = http_capture(|req| {
        if req.path.starts_with("/loki/") {
            (204, "text/plain", Vec::new())
        } else if req.path.contains("_bulk") {
            let decoded = bulk::decode_bulk(&req.body, None).unwrap();
            let stored =
                vec![bulk::ItemStatus::Stored; decoded.items.iter().filter(|i| i.outcome.is_ok()).count()];
            (
                200,
                "application/json",
                bulk::bulk_response(&decoded, &stored, 1).to_string().into_bytes(),
            )
        } else if req.path == "/v1/logs" {
            (200, "application/x-protobuf", otlp::response_protobuf(0, &[]))
        } else {
            (404, "application/json", b"{}".to_vec())
        }
    });
    let output = Command::new(python)
        .args(["-c", HTTP_CLIENTS_SCRIPT, &format!("http://127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let es_view: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        es_view,
        serde_json::json!({"errors": true, "statuses": [201, 400]})
    );

    let captured: Vec<Captured> = requests.try_iter().collect();
    let loki_req = captured
        .iter()
        .find(|c| c.path == "/loki/api/v1/push")
        .expect("a Loki push");
    assert_eq!(loki_req.content_type, "application/json");
    let pushed = loki::decode_json(&loki_req.body).unwrap();
    assert_eq!(pushed.entries[0].line, "login failed for jane@uni.example");
    assert!(
        pushed.entries[0]
            .labels
            .contains(&("request_id".to_string(), "r-1".to_string()))
    );

    let bulk_req = captured
        .iter()
        .find(|c| c.path.contains("_bulk"))
        .expect("a bulk request");
    assert!(
        bulk_req.content_type.contains("ndjson"),
        "{}",
        bulk_req.content_type
    );
    let items = bulk::decode_bulk(&bulk_req.body, None).unwrap().items;
    let doc = items[0].outcome.as_ref().unwrap();
    assert_eq!(
        (doc.line.as_str(), &doc.level),
        ("bulk ok", &Some(LevelHint::Text("warn".into())))
    );
    assert!(
        doc.labels
            .contains(&("service".to_string(), "lms-api".to_string()))
    );

    let otlp_req = captured
        .iter()
        .find(|c| c.path == "/v1/logs")
        .expect("an OTLP export");
    assert_eq!(otlp_req.content_type, "application/x-protobuf");
    let out = otlp::entries(otlp::decode_protobuf(&otlp_req.body).unwrap());
    let e = &out.entries[0];
    assert_eq!(
        (e.line.as_str(), &e.level),
        ("celery task retried", &Some(LevelHint::Otlp(13)))
    );
    assert_eq!(e.labels, vec![("service".to_string(), "lms-worker".to_string())]);
    assert_eq!(e.fields["task"], "grades.export");
}
