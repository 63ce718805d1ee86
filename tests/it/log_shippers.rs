//! Real log shippers against a real `belfry serve`, read back through
//! `/api/belfry/logs/search`: python-logging-loki (Loki push), Elastic's
//! Python client (its product check and the bulk API), the OpenTelemetry
//! SDK's OTLP/HTTP exporter, rsyslog's `omelasticsearch` (bulk) and
//! `omfwd` (syslog over UDP and TCP), util-linux `logger` and graypy (GELF
//! over chunked UDP and TCP). Every path lands with its level normalized,
//! the user id as a token and secrets scrubbed.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::log_shippers_support::{
    is_token, message_of, metric, python_with, run_python, search, start, wait_lines,
};
use crate::support::{ChildGuard, free_port, peer_binary, wait_for};

const HTTP_CLIENTS: &str =
    "logging_loki, elasticsearch, opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http";

const HTTP_SCRIPT: &str = r#"
import json, logging, sys
base = sys.argv[1]

import logging_loki
loki = logging.getLogger("loki"); loki.setLevel(logging.INFO)
loki.addHandler(logging_loki.LokiHandler(url=base + "/loki/api/v1/push", tags={"service": "lms-api"}, version="1"))
loki.error(json.dumps({"msg": "login failed for jane@uni.example", "level": "ERR", "user_id": "stu-4411",
                       "error": "auth rejected password=hunter2loki"}))

from elasticsearch import Elasticsearch
es = Elasticsearch(base)
info = es.info()
answer = es.bulk(operations=[
    {"index": {"_index": "lms-logs"}},
    {"@timestamp": "2030-01-01T00:00:00Z", "message": "too far ahead", "service": {"name": "lms-bulk"}},
    {"create": {"_index": "lms-logs"}},
    {"message": "quiz submit slow", "log.level": "warn", "service": {"name": "lms-bulk"}, "user": {"id": "stu-5522"},
     "error": {"message": "upstream said Authorization: Bearer abc.def.ghi"}},
    {"delete": {"_index": "lms-logs", "_id": "1"}},
])
print(json.dumps({"version": info["version"]["number"], "errors": answer["errors"],
                  "statuses": [list(i.values())[0]["status"] for i in answer["items"]]}))

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk.resources import Resource
provider = LoggerProvider(resource=Resource.create({"service.name": "lms-worker"}))
provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=base + "/v1/logs")))
otel = logging.getLogger("otel"); otel.setLevel(logging.INFO)
otel.addHandler(LoggingHandler(logger_provider=provider))
otel.warning("celery task retried for bob@uni.example", extra={"task": "grades.export", "user_id": "stu-6633"})
provider.shutdown()
"#;

#[test]
fn python_loki_elasticsearch_and_otlp_clients_reach_the_store() {
    let Some(python) = python_with(HTTP_CLIENTS) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), "");
    let out = run_python(python, HTTP_SCRIPT, &[s.server.url("")]);
    let es: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(es["version"], "8.17.0", "the product check passed: {es}");
    assert_eq!(es["errors"], true);
    assert_eq!(es["statuses"], serde_json::json!([400, 201, 400]), "{es}");

    let loki = wait_lines(&s.server, "service=lms-api", 1);
    let l = &loki[0];
    assert_eq!(l["level"], "error");
    assert!(is_token(&l["user"]), "{l}");
    assert_eq!(message_of(l), "login failed for [email]");
    assert_eq!(l["error"], "auth rejected password=[redacted]");
    assert_eq!(l["labels"]["logger"], "loki", "{l}");

    let bulk = wait_lines(&s.server, "service=lms-bulk", 1);
    let b = &bulk[0];
    assert_eq!(
        (message_of(b), &b["level"]),
        ("quiz submit slow", &Value::from("warning"))
    );
    assert!(is_token(&b["user"]), "{b}");
    assert!(b["error"].as_str().unwrap().contains("Bearer [redacted]"), "{b}");

    let otlp = wait_lines(&s.server, "service=lms-worker", 1);
    let o = &otlp[0];
    assert_eq!(message_of(o), "celery task retried for [email]");
    assert_eq!(o["level"], "warning");
    assert!(is_token(&o["user"]), "{o}");
    assert_eq!(o["fields"]["task"], "grades.export");

    for source in ["loki", "bulk", "otlp"] {
        let ingested: f64 = ["error", "warning"]
            .iter()
            .map(|level| {
                metric(
                    &s.server,
                    &format!("belfry_logs_ingested_total{{source=\"{source}\",level=\"{level}\"}}"),
                )
            })
            .sum();
        assert_eq!(ingested, 1.0, "{source}");
    }
    // The bulk item stamped years ahead and the delete were refused.
    assert!(
        metric(
            &s.server,
            "belfry_logs_rejected_total{reason=\"too_far_in_future\"}"
        ) >= 1.0
    );
}

const ES_DOCUMENT_SCRIPT: &str = r#"
import json, sys
from elasticsearch import Elasticsearch, BadRequestError, NotFoundError
es = Elasticsearch(sys.argv[1])
out = {}
r = es.index(index="lms-docs", document={"message": "one doc", "service": {"name": "lms-doc"}, "user": {"id": "stu-9911"}})
out["auto"] = {"result": r["result"], "index": r["_index"], "id_len": len(r["_id"])}
r = es.index(index="lms-docs", id="fixed-1", document={"message": "doc with id", "service": {"name": "lms-doc"}})
out["with_id"] = {"result": r["result"], "id": r["_id"]}
r = es.create(index="lms-docs", id="fixed-2", document={"message": "created doc", "service": {"name": "lms-doc"}})
out["create"] = {"result": r["result"], "id": r["_id"]}
try:
    es.index(index="Bad-Index", document={"message": "x"})
except BadRequestError as e:
    out["bad_index"] = e.error
out["favicon_exists"] = bool(es.indices.exists(index="favicon.ico"))
try:
    es.indices.get(index="favicon.ico")
except NotFoundError as e:
    out["favicon"] = e.error
print(json.dumps(out))
"#;

/// Elastic's Python client indexes single documents (`index` with and
/// without an id, `create`), and index names Elasticsearch refuses or that
/// are web files are answered as missing or refused, in its shape.
#[test]
fn elasticsearch_py_indexes_single_documents() {
    let Some(python) = python_with("elasticsearch") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), "");
    let out = run_python(python, ES_DOCUMENT_SCRIPT, &[s.server.url("")]);
    let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        v["auto"],
        serde_json::json!({"result": "created", "index": "lms-docs", "id_len": 20}),
        "{v}"
    );
    assert_eq!(
        v["with_id"],
        serde_json::json!({"result": "created", "id": "fixed-1"}),
        "{v}"
    );
    assert_eq!(
        v["create"],
        serde_json::json!({"result": "created", "id": "fixed-2"}),
        "{v}"
    );
    assert_eq!(v["bad_index"], "invalid_index_name_exception", "{v}");
    assert_eq!(v["favicon_exists"], false, "{v}");
    assert_eq!(v["favicon"], "index_not_found_exception", "{v}");
    let lines = wait_lines(&s.server, "service=lms-doc", 3);
    let mut messages: Vec<&str> = lines.iter().map(message_of).collect();
    messages.sort_unstable();
    assert_eq!(messages, ["created doc", "doc with id", "one doc"]);
    let one = lines.iter().find(|l| message_of(l) == "one doc").unwrap();
    assert!(is_token(&one["user"]), "{one}");
    assert_eq!(
        metric(
            &s.server,
            "belfry_logs_ingested_total{source=\"bulk\",level=\"info\"}"
        ),
        3.0
    );
}

/// rsyslogd in the foreground with its own configuration, pid file and
/// work directory: it takes `logger`'s messages on a UDP port and sends
/// them on — by program name — to Belfry's bulk API (`omelasticsearch`)
/// and to its syslog listener over UDP and TCP (`omfwd`).
fn rsyslog_config(work: &std::path::Path, in_port: u16, http_port: u16, syslog_port: u16) -> String {
    format!(
        r#"global(workDirectory="{work}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{in_port}")
module(load="omelasticsearch")
template(name="es-json" type="string" string="{{\"@timestamp\":\"%timereported:::date-rfc3339%\",\"host\":\"%hostname:::json%\",\"severity\":\"%syslogseverity-text%\",\"app\":\"%programname:::json%\",\"message\":\"%msg:::json%\"}}")
if $programname == "lms-es" then {{
  action(type="omelasticsearch" server="127.0.0.1" serverport="{http_port}" template="es-json" searchIndex="rsyslog-lms" bulkmode="on" esVersion.major="8" errorFile="{work}/es-errors.json")
}}
if $programname == "lms-udp" then {{
  action(type="omfwd" target="127.0.0.1" port="{syslog_port}" protocol="udp" template="RSYSLOG_SyslogProtocol23Format")
}}
if $programname == "lms-tcp" then {{
  action(type="omfwd" target="127.0.0.1" port="{syslog_port}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
}}
"#,
        work = work.display()
    )
}

#[test]
fn rsyslog_forwards_to_bulk_and_the_syslog_listener_and_logger_sends_directly() {
    let (Some(rsyslogd), Some(logger)) = (peer_binary("rsyslogd"), peer_binary("logger")) else {
        return;
    };
    if !std::path::Path::new("/usr/lib/x86_64-linux-gnu/rsyslog/omelasticsearch.so").exists()
        && Command::new("sh")
            .args(["-c", "ls /usr/lib/*/rsyslog/omelasticsearch.so"])
            .output()
            .is_ok_and(|o| !o.status.success())
    {
        if std::env::var_os("BELFRY_REQUIRE_PEERS").is_some() {
            panic!("BELFRY_REQUIRE_PEERS is set but rsyslog-elasticsearch is not installed");
        }
        eprintln!("skipping: rsyslog-elasticsearch is not installed (scripts/install-test-deps installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), "");
    let work = dir.path().join("rsyslog");
    std::fs::create_dir_all(&work).unwrap();
    let in_port = free_port();
    let conf = work.join("rsyslog.conf");
    std::fs::write(
        &conf,
        rsyslog_config(&work, in_port, s.server.addr.port(), s.syslog_port),
    )
    .unwrap();
    let _rsyslog = ChildGuard(
        Command::new(&rsyslogd)
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(work.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    // rsyslogd is up once its input answers; until then datagrams are lost.
    let send = |tag: &str, prio: &str, text: &str, extra: &[&str]| {
        let port = in_port.to_string();
        let mut args = vec![
            "--server",
            "127.0.0.1",
            "--port",
            &port,
            "--udp",
            "-t",
            tag,
            "-p",
            prio,
        ];
        args.extend_from_slice(extra);
        args.push(text);
        let status = Command::new(&logger).args(&args).status().unwrap();
        assert!(status.success());
    };
    wait_for(
        Duration::from_secs(30),
        "rsyslog to forward a first message",
        || {
            send("lms-es", "user.info", "rsyslog warm-up", &[]);
            std::thread::sleep(Duration::from_millis(500));
            let d = search(&s.server, "query=warm");
            (d["total"].as_u64().unwrap_or(0) > 0).then_some(())
        },
    );
    send(
        "lms-es",
        "local0.err",
        "bulk via rsyslog: login failed password=hunter2es",
        &[],
    );
    send(
        "lms-udp",
        "local0.warning",
        "udp via rsyslog to jane@uni.example",
        &[],
    );
    send("lms-tcp", "local0.crit", "tcp via rsyslog: disk full", &[]);

    let es = wait_lines(&s.server, "service=lms-es&level=error", 1);
    // RFC 3164 parsing leaves the space after the tag in `msg`; RFC 5424
    // does not: either way the words must arrive whole.
    assert_eq!(
        message_of(&es[0]).trim_start(),
        "bulk via rsyslog: login failed password=[redacted]"
    );
    let udp = wait_lines(&s.server, "service=lms-udp", 1);
    assert_eq!(message_of(&udp[0]), "udp via rsyslog to [email]");
    assert_eq!(udp[0]["level"], "warning");
    assert_eq!(udp[0]["labels"]["facility"], "local0", "{}", udp[0]);
    let tcp = wait_lines(&s.server, "service=lms-tcp", 1);
    assert_eq!(message_of(&tcp[0]), "tcp via rsyslog: disk full");
    assert_eq!(tcp[0]["level"], "critical");

    // logger straight to the listener: RFC 5424 over UDP, RFC 3164 over
    // TCP (newline framing) and RFC 5424 over TCP (octet counting).
    let port = s.syslog_port.to_string();
    let direct = |args: &[&str]| {
        let mut all = vec!["--server", "127.0.0.1", "--port", &port];
        all.extend_from_slice(args);
        assert!(Command::new(&logger).args(&all).status().unwrap().success());
    };
    direct(&[
        "--udp",
        "--rfc5424",
        "-t",
        "lms-logger",
        "-p",
        "local1.err",
        "--sd-id",
        "req@32473",
        "--sd-param",
        "user_id=\"stu-7744\"",
        "logger udp 5424",
    ]);
    direct(&[
        "--tcp",
        "--rfc3164",
        "-t",
        "lms-logger",
        "-p",
        "local1.info",
        "logger tcp 3164",
    ]);
    direct(&[
        "--tcp",
        "--octet-count",
        "--rfc5424",
        "-t",
        "lms-logger",
        "-p",
        "local1.debug",
        "logger tcp octets",
    ]);
    let lines = wait_lines(&s.server, "service=lms-logger", 3);
    let mut seen: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                message_of(l).to_string(),
                l["level"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("logger tcp 3164".to_string(), "info".to_string()),
            ("logger tcp octets".to_string(), "debug".to_string()),
            ("logger udp 5424".to_string(), "error".to_string()),
        ]
    );
    let with_sd = lines.iter().find(|l| message_of(l) == "logger udp 5424").unwrap();
    // A user id in structured data is kept as its token, never raw.
    let sd_user = &with_sd["fields"]["req@32473.user_id"];
    assert!(is_token(sd_user), "{with_sd}");
    assert!(!with_sd.to_string().contains("stu-7744"), "{with_sd}");

    for source in ["bulk", "syslog"] {
        assert!(
            metric(
                &s.server,
                &format!("belfry_logs_ingested_total{{source=\"{source}\",level=\"error\"}}")
            ) >= 1.0,
            "{source}"
        );
    }
    assert!(
        metric(
            &s.server,
            "belfry_logs_listener_messages_total{source=\"syslog\",transport=\"udp\"}"
        ) >= 2.0
    );
    assert!(
        metric(
            &s.server,
            "belfry_logs_listener_messages_total{source=\"syslog\",transport=\"tcp\"}"
        ) >= 3.0
    );
}

const GRAYPY_SCRIPT: &str = r#"
import logging, random, sys, graypy
udp_port, tcp_port = int(sys.argv[1]), int(sys.argv[2])
random.seed(11)
log = logging.getLogger("lms-gelf"); log.setLevel(logging.DEBUG)
udp = graypy.GELFUDPHandler("127.0.0.1", udp_port, gelf_chunker=graypy.handler.GELFWarningChunker(chunk_size=1420), extra_fields=True)
log.addHandler(udp)
log.error("grade sync failed for jane@uni.example", extra={"request_id": "r-1", "status": 502, "user_id": "stu-8855"})
log.info("big " + "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8000)))
log.removeHandler(udp)
tcp = graypy.GELFTCPHandler("127.0.0.1", tcp_port, extra_fields=True)
log.addHandler(tcp)
log.warning("over tcp one", extra={"duration_ms": 1234.5})
log.critical("over tcp two token=abc123secret")
tcp.close()
"#;

#[test]
fn graypy_sends_gelf_over_chunked_udp_and_tcp() {
    let Some(python) = python_with("graypy") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), "");
    run_python(
        python,
        GRAYPY_SCRIPT,
        &[s.gelf_port.to_string(), s.gelf_port.to_string()],
    );
    // graypy sends the logger name as GELF's `facility`: the service.
    let lines = wait_lines(&s.server, "filters=service%3Dlms-gelf", 4);
    let find = |prefix: &str| {
        lines
            .iter()
            .find(|l| message_of(l).starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in {lines:?}"))
    };
    let e = find("grade sync failed");
    assert_eq!(message_of(e), "grade sync failed for [email]");
    assert_eq!(e["level"], "error");
    assert_eq!(e["request_id"], "r-1");
    assert_eq!(e["status"], 502);
    assert!(is_token(&e["user"]), "{e}");
    let big = find("big ");
    assert_eq!(message_of(big).len(), 8004, "the chunked message came whole");
    assert_eq!(find("over tcp one")["duration"], 1.2345);
    let two = find("over tcp two");
    assert_eq!(message_of(two), "over tcp two token=[redacted]");
    assert_eq!(two["level"], "critical");
    assert_eq!(
        metric(
            &s.server,
            "belfry_logs_listener_messages_total{source=\"gelf\",transport=\"tcp\"}"
        ),
        2.0
    );
    assert_eq!(
        metric(
            &s.server,
            "belfry_logs_listener_messages_total{source=\"gelf\",transport=\"udp\"}"
        ),
        2.0,
        "two whole messages from their chunks"
    );
}
