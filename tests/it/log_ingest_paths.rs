//! Every network ingest path at once, driven over raw HTTP and sockets
//! against a real `belfry serve`: no raw user id or scrubbed secret
//! reaches any file of the data directory; `kill -9` during ingest loses
//! no acknowledged record on any path; malformed items are refused alone
//! and counted; the Elasticsearch handshake; the listeners' connection
//! limits.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::log_shippers_support::{
    ShipperServer, is_token, message_of, metric, search, start, start_on, wait_lines,
};
use crate::support::{BelfryServer, http_client, wait_for};

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Result<Answer, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = http_client()
            .request(method.parse().unwrap(), url)
            .timeout(Duration::from_secs(30))
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| e.to_string())?.to_vec();
        Ok(Answer {
            status,
            headers,
            body,
        })
    })
}

fn post(server: &BelfryServer, path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Answer {
    request(
        "POST",
        &server.url(path),
        &[("content-type", content_type)],
        body.into(),
    )
    .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// One record per path, in each path's own shape.
fn ndjson(service: &str, message: &str, user: &str, error: &str) -> String {
    format!(
        "{}\n",
        json!({"service": service, "level": "error", "msg": message, "user_id": user, "error": error})
    )
}

fn loki_json(service: &str, messages: &[String], user: &str) -> String {
    let ts = now_ns();
    let values: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| json!([(ts + i as i64).to_string(), m, {"user_id": user, "detected_level": "warn"}]))
        .collect();
    // The user id is a stream label too, where no user-id alias looks.
    json!({"streams": [{"stream": {"service": service, "user_id": user}, "values": values}]}).to_string()
}

fn bulk_body(service: &str, messages: &[String], user: &str, error: &str) -> String {
    let mut body = String::new();
    for m in messages {
        body.push_str("{\"create\":{\"_index\":\"lms\"}}\n");
        body.push_str(
            &json!({"message": m, "log.level": "ERROR", "service.name": service, "user.id": user, "error.message": error})
                .to_string(),
        );
        body.push('\n');
    }
    body
}

fn otlp_json(service: &str, messages: &[String], user: &str) -> String {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "timeUnixNano": now_ns().to_string(),
                "severityNumber": 17,
                "body": {"stringValue": m},
                "attributes": [{"key": "user_id", "value": {"stringValue": user}}],
            })
        })
        .collect();
    json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeLogs": [{"scope": {"name": "lms"}, "logRecords": records}],
    }]})
    .to_string()
}

fn gelf_json(service: &str, message: &str, user: &str) -> String {
    json!({"version": "1.1", "host": "lms-1", "short_message": message, "level": 3,
           "_service": service, "_user_id": user})
    .to_string()
}

/// RFC 5424, octet-counted; `-` for the time: the arrival time.
/// With the user id as a structured-data param, where no user-id alias
/// looks: it must become a token all the same.
fn syslog_frame(app: &str, message: &str, user: &str) -> String {
    let frame = format!("<131>1 - lms-1 {app} - - [req@32473 user_id=\"{user}\"] {message}");
    format!("{} {frame}", frame.len())
}

fn send_udp(port: u16, payload: &[u8]) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.send_to(payload, ("127.0.0.1", port)).unwrap();
}

fn send_tcp(port: u16, bytes: &[u8]) {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.write_all(bytes).unwrap();
}

/// The raw strings of one path: a user id, three secrets, and a second
/// user id written inside the text, spelled each path's own way.
struct Secrets {
    user: String,
    email: String,
    password: String,
    bearer: String,
    text_user: String,
    text_user_key: &'static str,
}

/// How the user id inside the text is written on each path: every
/// spelling of a user-id pair a log line holds in practice.
const TEXT_USER_KEYS: [&str; 6] = [
    "user_id=",
    "\"userId\": \"",
    "userId:",
    "user=",
    "'username': '",
    "uid=",
];

impl Secrets {
    fn of(path: &str) -> Secrets {
        let i = PATHS.iter().position(|p| *p == path).unwrap();
        Secrets {
            user: format!("stu-raw-{path}-7731"),
            email: format!("alice.{path}@uni.example"),
            password: format!("pw{path}Secret9"),
            bearer: format!("tok{path}Zq81xx"),
            text_user: format!("txt-{path}-5521"),
            text_user_key: TEXT_USER_KEYS[i],
        }
    }
    fn text(&self) -> String {
        let closing = match self.text_user_key.chars().last() {
            Some(q @ ('"' | '\'')) => q.to_string(),
            _ => String::new(),
        };
        format!(
            "mail {} with password={} and Authorization: Bearer {} for {}{}{closing}",
            self.email, self.password, self.bearer, self.text_user_key, self.text_user
        )
    }
    fn raw(&self) -> [&str; 5] {
        [
            &self.user,
            &self.email,
            &self.password,
            &self.bearer,
            &self.text_user,
        ]
    }
}

const PATHS: [&str; 6] = ["ndjson", "loki", "bulk", "otlp", "gelf", "syslog"];

fn all_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn no_raw_user_id_or_secret_reaches_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), "");
    let server = &s.server;
    let sec: Vec<Secrets> = PATHS.iter().map(|p| Secrets::of(p)).collect();
    let svc = |p: &str| format!("grep-{p}");
    let a = post(
        server,
        "/api/belfry/logs",
        "application/x-ndjson",
        ndjson(&svc("ndjson"), &sec[0].text(), &sec[0].user, &sec[0].text()),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let a = post(
        server,
        "/loki/api/v1/push",
        "application/json",
        loki_json(&svc("loki"), &[sec[1].text()], &sec[1].user),
    );
    assert_eq!(a.status, 204, "{}", a.text());
    let a = post(
        server,
        "/_bulk",
        "application/x-ndjson",
        bulk_body(&svc("bulk"), &[sec[2].text()], &sec[2].user, &sec[2].text()),
    );
    assert_eq!(a.json()["errors"], false, "{}", a.text());
    let a = post(
        server,
        "/v1/logs",
        "application/json",
        otlp_json(&svc("otlp"), &[sec[3].text()], &sec[3].user),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    send_udp(
        s.gelf_port,
        gelf_json(&svc("gelf"), &sec[4].text(), &sec[4].user).as_bytes(),
    );
    send_tcp(
        s.syslog_port,
        syslog_frame(&svc("syslog"), &sec[5].text(), &sec[5].user).as_bytes(),
    );

    let lines = wait_lines(server, "query=mail", 6);
    let answer = serde_json::to_string(&lines).unwrap();
    for (p, secrets) in PATHS.iter().zip(&sec) {
        let line = lines
            .iter()
            .find(|l| l["service"] == svc(p))
            .unwrap_or_else(|| panic!("no line from {p}: {answer}"));
        let message = message_of(line);
        let scrubbed = "mail [email] with password=[redacted] and Authorization: Bearer [redacted] for ";
        let pair = message
            .strip_prefix(scrubbed)
            .unwrap_or_else(|| panic!("{p}: {message}"));
        // The user id in the text is a token, under the key it was sent with.
        let token = pair
            .strip_prefix(secrets.text_user_key)
            .unwrap_or_else(|| panic!("{p}: {message}"));
        assert!(token.starts_with("u_"), "{p}: {message}");
        if *p != "syslog" {
            assert!(is_token(&line["user"]), "{p}: {line}");
        }
        for raw in secrets.raw() {
            assert!(!answer.contains(raw), "{raw} came back from search");
        }
    }
    let data = server.data_dir.clone();
    let ShipperServer { server, .. } = s;
    server.stop();

    let mut files = Vec::new();
    all_files(&data, &mut files);
    assert!(
        files.iter().any(|f| f.to_string_lossy().contains("logs")),
        "{files:?}"
    );
    let mut frames = 0;
    for f in &files {
        let views = readable_views(&std::fs::read(f).unwrap());
        frames += views.len() - 1;
        for view in &views {
            for secrets in &sec {
                for raw in secrets.raw() {
                    assert!(
                        memchr::memmem::find(view, raw.as_bytes()).is_none(),
                        "{raw} is in {}",
                        f.display()
                    );
                }
            }
        }
    }
    assert!(
        frames > 0,
        "the index's doc store holds zstd frames, which were read too"
    );
}

/// A file's bytes and, for each zstd frame in it (the index's doc store
/// compresses its blocks), what the frame decompresses to.
fn readable_views(bytes: &[u8]) -> Vec<Vec<u8>> {
    use std::io::Read;
    let mut views = vec![bytes.to_vec()];
    for pos in memchr::memmem::find_iter(bytes, &[0x28, 0xb5, 0x2f, 0xfd]) {
        let Ok(decoder) = zstd::stream::read::Decoder::with_buffer(&bytes[pos..]) else {
            continue;
        };
        let mut out = Vec::new();
        // A false match or a cut frame still gives what decoded before it.
        let _ = decoder.single_frame().take(64 << 20).read_to_end(&mut out);
        if !out.is_empty() {
            views.push(out);
        }
    }
    views
}

/// The messages a path's sender got acknowledged.
type Acked = Arc<Mutex<Vec<String>>>;

/// Sends batches of 5 over one HTTP path until `stop` or until the server
/// is gone; keeps what was acknowledged.
fn http_sender(
    base: String,
    path: &'static str,
    stop: Arc<AtomicBool>,
    acked: Acked,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let service = format!("kill-{path}");
        for n in 0..150 {
            if stop.load(Ordering::Acquire) {
                return;
            }
            let messages: Vec<String> = (0..5).map(|k| format!("k9 {path} {n} {k}")).collect();
            let (url, ctype, body) = match path {
                "ndjson" => (
                    "/api/belfry/logs",
                    "application/x-ndjson",
                    messages
                        .iter()
                        .map(|m| ndjson(&service, m, "u", ""))
                        .collect::<String>(),
                ),
                "loki" => (
                    "/loki/api/v1/push",
                    "application/json",
                    loki_json(&service, &messages, "u"),
                ),
                "bulk" => (
                    "/_bulk",
                    "application/x-ndjson",
                    bulk_body(&service, &messages, "u", "e"),
                ),
                _ => (
                    "/v1/logs",
                    "application/json",
                    otlp_json(&service, &messages, "u"),
                ),
            };
            let Ok(answer) = request(
                "POST",
                &format!("{base}{url}"),
                &[("content-type", ctype)],
                body.into_bytes(),
            ) else {
                return;
            };
            let ok = match path {
                "loki" => answer.status == 204,
                "bulk" => answer.status == 200 && answer.json()["errors"] == false,
                "otlp" => answer.status == 200 && answer.json().get("partialSuccess").is_none(),
                _ => answer.status == 200 && answer.json()["accepted"] == 5,
            };
            if ok {
                acked.lock().extend(messages);
            } else if answer.status != 429 {
                panic!("{path}: {} {}", answer.status, answer.text());
            }
        }
    })
}

fn ingested(server: &BelfryServer, source: &str) -> f64 {
    ["debug", "info", "warning", "error", "critical"]
        .iter()
        .map(|l| {
            metric(
                server,
                &format!("belfry_logs_ingested_total{{source=\"{source}\",level=\"{l}\"}}"),
            )
        })
        .sum()
}

#[test]
fn kill_9_during_ingest_loses_nothing_acknowledged_on_any_path() {
    const STREAMED: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), "");
    let (gelf_port, syslog_port) = (s.gelf_port, s.syslog_port);
    let stop = Arc::new(AtomicBool::new(false));
    let http_paths = ["ndjson", "loki", "bulk", "otlp"];
    let acked: Vec<Acked> = http_paths.iter().map(|_| Acked::default()).collect();
    let senders: Vec<_> = http_paths
        .iter()
        .zip(&acked)
        .map(|(p, a)| http_sender(s.server.url(""), p, stop.clone(), a.clone()))
        .collect();

    // The listeners: TCP streams of GELF and syslog, stored once the
    // store's counter says so (TCP has no acknowledgement of its own).
    let mut gelf = TcpStream::connect(("127.0.0.1", gelf_port)).unwrap();
    let mut syslog = TcpStream::connect(("127.0.0.1", syslog_port)).unwrap();
    for n in 0..STREAMED {
        gelf.write_all(gelf_json("kill-gelf", &format!("k9 gelf {n}"), "u").as_bytes())
            .unwrap();
        gelf.write_all(b"\0").unwrap();
        syslog
            .write_all(syslog_frame("kill-syslog", &format!("k9 syslog {n}"), "kill-user").as_bytes())
            .unwrap();
    }
    gelf.flush().unwrap();
    syslog.flush().unwrap();
    wait_for(
        Duration::from_secs(30),
        "the listeners' records in the WAL",
        || {
            (ingested(&s.server, "gelf") >= STREAMED as f64
                && ingested(&s.server, "syslog") >= STREAMED as f64)
                .then_some(())
        },
    );
    // Mid-flight for the HTTP senders.
    wait_for(
        Duration::from_secs(30),
        "every HTTP path to have acknowledged something",
        || acked.iter().all(|a| a.lock().len() >= 25).then_some(()),
    );
    let ShipperServer { server, .. } = s;
    server.kill_hard();
    stop.store(true, Ordering::Release);
    for t in senders {
        t.join().unwrap();
    }
    drop((gelf, syslog));

    let s = start_on(dir.path(), "", "", gelf_port, syslog_port);
    for (path, acked) in http_paths.iter().zip(&acked) {
        let acked = acked.lock().clone();
        let found: std::collections::HashSet<String> =
            wait_lines(&s.server, &format!("service=kill-{path}"), acked.len())
                .iter()
                .map(|l| message_of(l).to_string())
                .collect();
        let lost: Vec<&String> = acked.iter().filter(|m| !found.contains(*m)).collect();
        assert!(
            lost.is_empty(),
            "{path}: {} acknowledged records lost, e.g. {:?}",
            lost.len(),
            &lost[..lost.len().min(5)]
        );
        eprintln!(
            "{path}: {} records acknowledged before kill -9, all found after restart",
            acked.len()
        );
    }
    for path in ["gelf", "syslog"] {
        let lines = wait_lines(&s.server, &format!("service=kill-{path}"), STREAMED);
        assert_eq!(lines.len(), STREAMED, "{path}");
    }
}

#[test]
fn malformed_items_are_refused_alone_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_on(
        dir.path(),
        "  limits:\n    max_line_bytes: 1KB\n",
        "    max_message_bytes: 2KB\n",
        crate::support::free_port(),
        crate::support::free_port(),
    );
    let server = &s.server;

    // Bulk: a document line that is not JSON, between two good ones.
    let body = "{\"index\":{\"_index\":\"lms\"}}\n{\"message\":\"bad-input bulk one\",\"service\":\"bad\"}\n\
                {\"index\":{\"_index\":\"lms\"}}\n{not json\n\
                {\"index\":{\"_index\":\"lms\"}}\n{\"message\":\"bad-input bulk two\",\"service\":\"bad\"}\n";
    let a = post(server, "/_bulk", "application/x-ndjson", body);
    assert_eq!(a.status, 200);
    let v = a.json();
    assert_eq!(v["errors"], true);
    let statuses: Vec<&Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["index"]["status"])
        .collect();
    assert_eq!(statuses, [&json!(201), &json!(400), &json!(201)]);
    assert_eq!(
        v["items"][1]["index"]["error"]["type"],
        "document_parsing_exception"
    );
    assert_eq!(a.header("x-elastic-product"), Some("Elasticsearch"));

    // Loki: a stream with a bad label name, beside a good one.
    let ts = now_ns().to_string();
    let body = json!({"streams": [
        {"stream": {"service": "bad"}, "values": [[ts, "bad-input loki good"]]},
        {"stream": {"bad-label": "x"}, "values": [[ts, "bad-input loki refused"]]},
    ]});
    let a = post(server, "/loki/api/v1/push", "application/json", body.to_string());
    assert_eq!(a.status, 400);
    assert!(
        a.text().contains("stream 1") && a.text().contains("bad-label"),
        "{}",
        a.text()
    );
    let a = post(
        server,
        "/loki/api/v1/push",
        "application/json",
        "{\"streams\": 7}",
    );
    assert_eq!(a.status, 400);
    assert!(a.text().contains("push request"), "{}", a.text());

    // OTLP: a record whose traceId is not 16 bytes.
    let mut req: Value = serde_json::from_str(&otlp_json(
        "bad",
        &["bad-input otlp good".into(), "bad-input otlp refused".into()],
        "u",
    ))
    .unwrap();
    req["resourceLogs"][0]["scopeLogs"][0]["logRecords"][1]["traceId"] = json!("abcd");
    let a = post(server, "/v1/logs", "application/json", req.to_string());
    assert_eq!(a.status, 200, "{}", a.text());
    let v = a.json();
    assert_eq!(v["partialSuccess"]["rejectedLogRecords"], "1", "{v}");
    assert!(
        v["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("traceId")
    );
    let a = post(
        server,
        "/v1/logs",
        "application/x-protobuf",
        b"\xff\xff\xff".to_vec(),
    );
    assert_eq!(a.status, 400);
    assert_eq!(a.header("content-type"), Some("application/x-protobuf"));
    let a = post(server, "/v1/logs", "text/csv", "x");
    assert_eq!(a.status, 415);

    // An oversized line: cut with the marker and counted.
    let long = format!("bad-input long {}", "x".repeat(3000));
    let a = post(
        server,
        "/loki/api/v1/push",
        "application/json",
        loki_json("bad", &[long], "u"),
    );
    assert_eq!(a.status, 204, "{}", a.text());

    // GELF: a chunk too short for its header, a payload that is not JSON.
    send_udp(s.gelf_port, &[0x1e, 0x0f, 1, 2, 3]);
    send_udp(s.gelf_port, b"{not gelf");
    send_udp(
        s.gelf_port,
        gelf_json("bad", "bad-input gelf good", "u").as_bytes(),
    );
    // Syslog: a frame with an impossible PRI, one over max_message_bytes,
    // and a good one after them on the same connection.
    let big = format!("<14>1 - h bad - - - {}", "y".repeat(4000));
    let bad_pri = "<999>1 - h bad - - - x";
    let stream = format!("{} {bad_pri}{} {big}", bad_pri.len(), big.len())
        + &syslog_frame("bad", "bad-input syslog good", "bad-user");
    send_tcp(s.syslog_port, stream.as_bytes());

    let lines = wait_lines(server, "service=bad", 7);
    let mut messages: Vec<String> = lines
        .iter()
        .map(|l| message_of(l).chars().take(18).collect())
        .collect();
    messages.sort();
    assert_eq!(
        messages,
        [
            "bad-input bulk one",
            "bad-input bulk two",
            "bad-input gelf goo",
            "bad-input loki goo",
            "bad-input long xxx",
            "bad-input otlp goo",
            "bad-input syslog g",
        ],
        "{lines:?}"
    );
    let long = lines
        .iter()
        .find(|l| message_of(l).starts_with("bad-input long"))
        .unwrap();
    assert!(message_of(long).ends_with("…[truncated]") && message_of(long).len() <= 1024);
    assert!(metric(server, "belfry_logs_truncated_total") >= 1.0);
    // bulk 1, loki 1, otlp 1, gelf 2, syslog 1.
    wait_for(Duration::from_secs(10), "the refusals to be counted", || {
        (metric(server, "belfry_logs_rejected_total{reason=\"malformed\"}") >= 6.0).then_some(())
    });
    assert_eq!(
        metric(server, "belfry_logs_rejected_total{reason=\"too_large\"}"),
        1.0
    );
    assert_eq!(
        metric(
            server,
            "belfry_logs_gelf_messages_dropped_total{reason=\"invalid_chunk\"}"
        ),
        1.0
    );
}

#[test]
fn elasticsearch_handshake_answers_shippers_and_not_browsers() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), "");
    let url = |p: &str| s.server.url(p);
    let a = request("GET", &url("/"), &[], Vec::new()).unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.header("x-elastic-product"), Some("Elasticsearch"));
    assert_eq!(a.json()["version"]["number"], "8.17.0");
    let a = request("HEAD", &url("/"), &[], Vec::new()).unwrap();
    assert_eq!(
        (a.status, a.header("x-elastic-product")),
        (200, Some("Elasticsearch"))
    );
    let a = request(
        "GET",
        &url("/"),
        &[("accept", "text/html,application/xhtml+xml")],
        Vec::new(),
    )
    .unwrap();
    assert_eq!(a.status, 200);
    assert!(a.header("content-type").unwrap().starts_with("text/html"));
    // A browser gets the overview page, not the version document.
    assert!(a.text().contains("Firing alerts"), "{}", a.text());
    let a = request(
        "GET",
        &url("/"),
        &[("accept", "application/vnd.elasticsearch+json; compatible-with=8")],
        Vec::new(),
    )
    .unwrap();
    assert_eq!(
        a.header("content-type"),
        Some("application/vnd.elasticsearch+json; compatible-with=8")
    );
    for (method, path, status) in [
        ("GET", "/_license", 200),
        ("GET", "/_xpack", 200),
        ("GET", "/_cluster/health", 200),
        ("GET", "/_index_template/filebeat-8", 404),
        ("HEAD", "/_index_template/filebeat-8", 404),
        ("PUT", "/_index_template/filebeat-8", 200),
        ("GET", "/_template/logstash", 404),
        ("PUT", "/_template/logstash", 200),
        ("GET", "/_ilm/policy/filebeat", 404),
        ("PUT", "/_ilm/policy/filebeat", 200),
        ("PUT", "/_data_stream/logs-lms", 200),
        ("GET", "/lms-logs", 200),
        ("HEAD", "/lms-logs", 200),
        ("PUT", "/lms-logs", 200),
        // What browsers, crawlers and scanners fetch is no index.
        ("GET", "/favicon.ico", 404),
        ("HEAD", "/favicon.ico", 404),
        ("GET", "/robots.txt", 404),
        ("GET", "/.env", 404),
        ("GET", "/Logs", 404),
        ("GET", "/_unknown", 404),
        ("PUT", "/Logs", 400),
        ("PUT", "/a,b", 400),
        ("POST", "/Logs/_doc", 400),
    ] {
        let headers: &[(&str, &str)] = if method == "PUT" || method == "POST" {
            &[("content-type", "application/json")]
        } else {
            &[]
        };
        let body = if method == "PUT" || method == "POST" {
            b"{}".to_vec()
        } else {
            Vec::new()
        };
        let a = request(method, &url(path), headers, body).unwrap();
        assert_eq!(a.status, status, "{method} {path}: {}", a.text());
        assert_eq!(
            a.header("x-elastic-product"),
            Some("Elasticsearch"),
            "{method} {path}"
        );
    }
    assert_eq!(
        request("GET", &url("/_license"), &[], Vec::new()).unwrap().json()["license"]["status"],
        "active"
    );
    // Elastic's versioned bulk type, answered in kind.
    let a = request(
        "POST",
        &url("/lms/_bulk"),
        &[(
            "content-type",
            "application/vnd.elasticsearch+x-ndjson; compatible-with=8",
        )],
        b"{\"index\":{}}\n{\"message\":\"versioned\"}\n".to_vec(),
    )
    .unwrap();
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(
        a.header("content-type"),
        Some("application/vnd.elasticsearch+json; compatible-with=8")
    );
    assert_eq!(a.json()["items"][0]["index"]["_index"], "lms");
    // One document at a time, answered as Elasticsearch answers.
    let a = request(
        "PUT",
        &url("/lms/_doc/d-1"),
        &[("content-type", "application/json")],
        b"{\"message\":\"single\"}".to_vec(),
    )
    .unwrap();
    assert_eq!(a.status, 201, "{}", a.text());
    assert_eq!(a.json()["_id"], "d-1");
    assert_eq!(a.json()["result"], "created");
    assert_eq!(a.json()["_shards"]["successful"], 1);
    let a = request(
        "POST",
        &url("/lms/_doc"),
        &[("content-type", "application/json")],
        b"[1, 2]".to_vec(),
    )
    .unwrap();
    assert_eq!(a.status, 400, "{}", a.text());
    assert_eq!(a.json()["error"]["type"], "document_parsing_exception");
    assert_eq!(a.json()["status"], 400);
    let a = request("GET", &url("/favicon.ico"), &[], Vec::new()).unwrap();
    assert_eq!(a.json()["error"]["type"], "index_not_found_exception");
    assert_eq!(a.json()["error"]["reason"], "no such index [favicon.ico]");
    // A browser form cannot post to it.
    let a = request(
        "POST",
        &url("/_bulk"),
        &[("content-type", "application/x-www-form-urlencoded")],
        b"a=b".to_vec(),
    )
    .unwrap();
    assert_eq!(a.status, 415);
}

#[test]
fn listeners_bound_connections_and_close_idle_ones() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_on(
        dir.path(),
        "",
        "    max_connections: 2\n    idle_timeout: 1s\n",
        crate::support::free_port(),
        crate::support::free_port(),
    );
    let server = &s.server;
    let open: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(("127.0.0.1", s.syslog_port)).unwrap())
        .collect();
    wait_for(Duration::from_secs(10), "two open connections", || {
        (metric(server, "belfry_logs_listener_connections{source=\"syslog\"}") == 2.0).then_some(())
    });
    let mut third = TcpStream::connect(("127.0.0.1", s.syslog_port)).unwrap();
    third.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 1];
    // Closed by the server at once: end of stream (or a reset).
    assert!(matches!(
        std::io::Read::read(&mut third, &mut buf),
        Ok(0) | Err(_)
    ));
    assert_eq!(
        metric(
            server,
            "belfry_logs_listener_connections_refused_total{source=\"syslog\"}"
        ),
        1.0
    );
    // Silent connections are closed after idle_timeout.
    wait_for(
        Duration::from_secs(10),
        "the idle connections to be closed",
        || {
            (metric(
                server,
                "belfry_logs_listener_idle_closed_total{source=\"syslog\"}",
            ) == 2.0)
                .then_some(())
        },
    );
    assert_eq!(
        metric(server, "belfry_logs_listener_connections{source=\"syslog\"}"),
        0.0
    );
    drop(open);
    // A message without its final newline is still taken at a clean close.
    let mut conn = TcpStream::connect(("127.0.0.1", s.syslog_port)).unwrap();
    conn.write_all(b"<13>Dec  6 10:00:00 lms-1 lms-close: last line without newline")
        .unwrap();
    drop(conn);
    let lines = wait_lines(server, "service=lms-close", 1);
    assert_eq!(message_of(&lines[0]), "last line without newline");
    let _ = search(server, "");
}

/// A burst faster than the GELF listener reads overflows its socket's
/// receive buffer; what the kernel dropped there is counted.
#[test]
fn udp_receive_buffer_overflow_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), "");
    let series = "belfry_logs_dropped_total{source=\"gelf\",reason=\"udp_receive_buffer\"}";
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let datagram = vec![b'x'; 65_000];
    wait_for(Duration::from_secs(60), "kernel drops to be counted", || {
        for _ in 0..2_000 {
            let _ = socket.send_to(&datagram, ("127.0.0.1", s.gelf_port));
        }
        std::thread::sleep(Duration::from_millis(1_500));
        (metric(&s.server, series) > 0.0).then_some(())
    });
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// What Promtail, Alloy and Docker's Loki driver send (snappy protobuf
/// with structured metadata), and gzip bodies of Loki JSON, OTLP/JSON and
/// bulk as Fluent Bit and Vector compress them.
#[test]
fn loki_protobuf_and_gzip_bodies_are_stored() {
    use belfry::logs::ingest::loki::{EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter, Timestamp};
    use prost::Message;
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), "");
    let server = &s.server;
    let now = now_ns();
    let push = PushRequest {
        streams: vec![StreamAdapter {
            labels: br#"{service="enc", job="promtail"}"#.to_vec(),
            entries: vec![EntryAdapter {
                timestamp: Some(Timestamp {
                    seconds: now / 1_000_000_000,
                    nanos: (now % 1_000_000_000) as i32,
                }),
                line: b"enc protobuf line".to_vec(),
                structured_metadata: vec![
                    LabelPairAdapter {
                        name: b"trace_id".to_vec(),
                        value: b"4bf92f3577b34da6".to_vec(),
                    },
                    LabelPairAdapter {
                        name: b"course".to_vec(),
                        value: b"CS101".to_vec(),
                    },
                ],
            }],
            hash: 0,
        }],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&push.encode_to_vec())
        .unwrap();
    let a = post(server, "/loki/api/v1/push", "application/x-protobuf", body);
    assert_eq!(a.status, 204, "{}", a.text());
    let a = post(
        server,
        "/loki/api/v1/push",
        "application/x-protobuf",
        b"not snappy".to_vec(),
    );
    assert_eq!(a.status, 400, "{}", a.text());

    let gz = |path: &str, ctype: &str, body: String| {
        request(
            "POST",
            &server.url(path),
            &[("content-type", ctype), ("content-encoding", "gzip")],
            gzip(body.as_bytes()),
        )
        .unwrap()
    };
    let a = gz(
        "/loki/api/v1/push",
        "application/json",
        loki_json("enc", &["enc loki gzip".into()], "u"),
    );
    assert_eq!(a.status, 204, "{}", a.text());
    let a = gz(
        "/v1/logs",
        "application/json",
        otlp_json("enc", &["enc otlp gzip".into()], "u"),
    );
    assert_eq!((a.status, a.json()), (200, json!({})));
    let a = gz(
        "/enc-index/_bulk",
        "application/x-ndjson",
        "{\"create\":{}}\n{\"message\":\"enc bulk gzip\",\"service\":\"enc\"}\n".to_string(),
    );
    assert_eq!(a.json()["items"][0]["create"]["status"], 201, "{}", a.text());

    let lines = wait_lines(server, "service=enc", 4);
    let proto = lines
        .iter()
        .find(|l| message_of(l) == "enc protobuf line")
        .unwrap();
    assert_eq!(
        proto["request_id"], "4bf92f3577b34da6",
        "structured metadata read: {proto}"
    );
    assert_eq!(proto["fields"]["course"], "CS101");
    assert_eq!(proto["labels"]["job"], "promtail");
    let bulk = lines.iter().find(|l| message_of(l) == "enc bulk gzip").unwrap();
    assert_eq!(bulk["labels"]["index"], "enc-index", "{bulk}");
}

/// While the index is behind, each path says so its own way: Loki 429
/// with `Retry-After`, a bulk item 429 (which shippers retry), OTLP 429
/// with `Retry-After` and a `google.rpc.Status`; a GELF datagram is
/// dropped and counted.
#[test]
fn a_lagging_index_is_answered_in_each_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("belfry.yml");
    let gelf_port = crate::support::free_port();
    std::fs::write(
        &config,
        format!(
            "logs:\n  limits:\n    max_line_bytes: 1KB\n    max_pending_bytes: 2KB\n  commit:\n    interval: 1h\n    max_records: 1000000\n  gelf:\n    listen: 127.0.0.1:{gelf_port}\n    protocols: [udp]\n"
        ),
    )
    .unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), Some(&config));
    let line = format!("{}\n", json!({"msg": "x".repeat(900)}));
    // Each record below would take the waiting bytes past 2 KB.
    let big = format!("lag {}", "y".repeat(500));
    for _ in 0..2 {
        let a = post(&server, "/api/belfry/logs", "application/x-ndjson", line.clone());
        assert_eq!(a.status, 200, "{}", a.text());
    }
    let a = post(
        &server,
        "/loki/api/v1/push",
        "application/json",
        loki_json("lag", std::slice::from_ref(&big), "u"),
    );
    assert_eq!((a.status, a.header("retry-after")), (429, Some("3600")));
    assert!(a.text().contains("max_pending_bytes"), "{}", a.text());
    let a = post(
        &server,
        "/_bulk",
        "application/x-ndjson",
        bulk_body("lag", std::slice::from_ref(&big), "u", "e"),
    );
    assert_eq!(a.status, 200);
    let item = &a.json()["items"][0]["create"];
    assert_eq!(item["status"], 429, "{item}");
    assert_eq!(item["error"]["type"], "es_rejected_execution_exception");
    let a = post(
        &server,
        "/v1/logs",
        "application/json",
        otlp_json("lag", std::slice::from_ref(&big), "u"),
    );
    assert_eq!((a.status, a.header("retry-after")), (429, Some("3600")));
    assert_eq!(a.json()["code"], 8, "{}", a.text());
    send_udp(gelf_port, gelf_json("lag", &big, "u").as_bytes());
    wait_for(
        Duration::from_secs(10),
        "the datagram to be dropped and counted",
        || {
            (metric(
                &server,
                "belfry_logs_dropped_total{source=\"gelf\",reason=\"backpressure\"}",
            ) == 1.0)
                .then_some(())
        },
    );
    server.stop();
}
