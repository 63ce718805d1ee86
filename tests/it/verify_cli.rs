//! `belfry verify` against a real server: `belfry serve --demo` (whose
//! synthetic LMS feeds every built-in dashboard) with Belfry's own scrape
//! target, a rule file, an errors project and a receiver with a real SMTP
//! server (aiosmtpd) and a webhook. The real binary passes every check and
//! exits 0, and the SMTP server and the webhook got the test notification;
//! after a reload that adds a down target, a rule that fails to evaluate,
//! a receiver pointing at a closed port, and an imported dashboard whose
//! queries answer nothing or do not parse, each check fails naming its
//! culprit and the exit code is 1. An unreachable server, a refused token
//! and a missing one exit 2; a token that may not write fails the
//! receivers check, naming the permission.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use belfry::auth::{Actor, Scope};
use serde_json::{Value, json};

use crate::alerting::start_smtp_sink;
use crate::log_rules::start_webhook;
use crate::support::{BelfryServer, block, free_port, http_client, wait_for, with_accounts};

const DSN_KEY: &str = "5e1f0c2a9b7d4e3f8a6c1b0d2e4f6a8c";
const PROJECT_ID: u32 = 7;

/// A loopback port nothing listens on: bound, then let go.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

const GOOD_RULES: &str = r#"groups:
  - name: verify-ok
    interval: 2s
    rules:
      - record: verify:up:sum
        expr: sum(up)
"#;

/// Both sides' match groups are empty, and the left side has two series:
/// an evaluation error on every run, whatever the data.
const BAD_RULES: &str = r#"groups:
  - name: verify-bad
    interval: 2s
    rules:
      - record: verify:broken
        expr: (label_replace(vector(1), "a", "1", "", "") or label_replace(vector(1), "a", "2", "", "")) * on() vector(1)
"#;

struct Peers {
    smtp_port: u16,
    hook_url: String,
    addr: SocketAddr,
    good_rules: PathBuf,
    bad_rules: PathBuf,
}

/// The configuration; `broken` adds the down target, the failing rule
/// file and the receiver at a closed port.
fn write_config(path: &Path, p: &Peers, broken: Option<u16>) {
    let mut rule_files = vec![p.good_rules.display().to_string()];
    let mut extra_jobs = String::new();
    let mut extra_receivers = String::new();
    if let Some(closed) = broken {
        rule_files.push(p.bad_rules.display().to_string());
        extra_jobs =
            format!("  - job_name: lms-reports\n    static_configs: [{{targets: ['127.0.0.1:{closed}']}}]\n");
        extra_receivers = format!(
            "    - name: broken\n      webhook_configs: [{{url: 'http://127.0.0.1:{closed}/hook'}}]\n"
        );
    }
    let rule_files: Vec<String> = rule_files.iter().map(|f| format!("'{f}'")).collect();
    std::fs::write(
        path,
        format!(
            r#"
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files: [{rules}]
scrape_configs:
  - job_name: belfry
    static_configs: [{{targets: ['{addr}']}}]
{extra_jobs}errors:
  projects: [{{id: {PROJECT_ID}, name: verify, keys: ['{DSN_KEY}']}}]
alerting:
  global:
    smtp_smarthost: '127.0.0.1:{smtp}'
    smtp_from: 'Belfry <belfry@lms.example>'
    smtp_require_tls: false
  route:
    receiver: quiet
  receivers:
    - name: quiet
    - name: team
      email_configs: [{{to: 'oncall@lms.example'}}]
      webhook_configs: [{{url: '{hook}'}}]
{extra_receivers}"#,
            rules = rule_files.join(", "),
            addr = p.addr,
            smtp = p.smtp_port,
            hook = p.hook_url,
        ),
    )
    .unwrap();
}

/// `belfry verify ARGS --url URL` with `token` in `BELFRY_TOKEN`.
fn verify(url: &str, token: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_belfry"));
    cmd.arg("verify").args(["--url", url]).args(args);
    cmd.env_remove("BELFRY_TOKEN").env_remove("BELFRY_VERIFY_DSN");
    if let Some(t) = token {
        cmd.env("BELFRY_TOKEN", t);
    }
    cmd.output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A JSON request with the token: (status, body).
fn call(
    server: &BelfryServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    block(async {
        let mut req = http_client().request(method, server.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    })
}

/// The test alerts a webhook got.
fn test_alerts_at_hook(bodies: &Arc<Mutex<Vec<String>>>) -> Vec<Value> {
    bodies
        .lock()
        .unwrap()
        .iter()
        .filter_map(|b| serde_json::from_str::<Value>(b).ok())
        .flat_map(|v| v["alerts"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["labels"]["alertname"] == "BelfryVerifyTest")
        .collect()
}

/// The one line of the report for `check`.
fn line_of<'a>(report: &'a str, check: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(check))
        .unwrap_or_else(|| panic!("no {check} line in:\n{report}"))
}

#[test]
fn verify_passes_on_a_healthy_server_then_names_each_culprit() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let Some((_smtp, smtp_port)) = start_smtp_sink(&mail) else {
        return;
    };
    let (hook_url, hook) = start_webhook();
    let data_dir = tmp.path().join("data-demo");
    belfry::demo::claim_data_dir(&data_dir).unwrap();
    let (pipeline, reader, admin) = with_accounts(&data_dir, |accounts| {
        let cli = Actor::cli();
        let add =
            |name: &str, scopes: &[Scope]| accounts.tokens.add(&cli, name, scopes, None).unwrap().secret;
        (
            add("deploy-pipeline", &[Scope::Read, Scope::Ingest, Scope::Write]),
            add("dashboard-reader", &[Scope::Read]),
            add("auditor", &[Scope::Admin]),
        )
    });
    let peers = Peers {
        smtp_port,
        hook_url,
        addr: format!("127.0.0.1:{}", free_port()).parse().unwrap(),
        good_rules: tmp.path().join("verify-ok.yml"),
        bad_rules: tmp.path().join("verify-bad.yml"),
    };
    std::fs::write(&peers.good_rules, GOOD_RULES).unwrap();
    std::fs::write(&peers.bad_rules, BAD_RULES).unwrap();
    let config = tmp.path().join("belfry.yml");
    write_config(&config, &peers, None);
    let server = BelfryServer::start_demo(peers.addr, &data_dir, Some(&config), &[], None);
    let url = server.url("");
    let dsn = format!("http://{DSN_KEY}@{}/{PROJECT_ID}", peers.addr);

    // Everything passes, and the receivers' integrations took the test.
    let out = verify(
        &url,
        Some(&pipeline),
        &["--send-test", "--dsn", &dsn, "--timeout", "150s"],
    );
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for check in ["dashboards", "rules", "targets", "errors", "logs", "receivers"] {
        assert!(line_of(&report, check).starts_with("PASS"), "{}", text(&out));
    }
    assert!(
        report.contains("queries of 4 dashboards returned data"),
        "{report}"
    );
    assert!(
        line_of(&report, "rules").contains("rules in 10 groups loaded and evaluated"),
        "{report}"
    );
    assert!(line_of(&report, "targets").contains("1 target up"), "{report}");
    assert!(
        line_of(&report, "receivers")
            .contains("2 integrations of 1 receiver took the test notification: team/email, team/webhook"),
        "{report}"
    );
    assert!(
        report.contains("receiver \"quiet\" has no integrations"),
        "{report}"
    );
    let message = wait_for(Duration::from_secs(20), "the test e-mail", || {
        std::fs::read_dir(&mail)
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
            .find(|m| m.contains("BelfryVerifyTest"))
    });
    assert!(message.contains("X-Envelope-To: oncall@lms.example"), "{message}");
    assert!(message.contains("no action needed"), "{message}");
    let at_hook = test_alerts_at_hook(&hook);
    assert_eq!(at_hook.len(), 1, "{at_hook:?}");
    assert_eq!(at_hook[0]["labels"]["belfry_test"], "true");
    assert_eq!(at_hook[0]["labels"]["receiver"], "team");

    // The test event became an issue, which verify resolved; the test
    // line is in the logs.
    let errors_line = line_of(&report, "errors");
    let issue = errors_line
        .split("became issue ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{errors_line}"));
    assert!(errors_line.ends_with("resolved it"), "{errors_line}");
    let (status, detail) = call(
        &server,
        &pipeline,
        reqwest::Method::GET,
        &format!("/api/belfry/errors/issues/{issue}"),
        None,
    );
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["data"]["status"], "resolved", "{detail}");
    assert!(
        detail["data"]["title"]
            .as_str()
            .unwrap()
            .starts_with("belfry verify: test event belfryverify"),
        "{detail}"
    );
    assert_eq!(
        detail["data"]["environments"],
        json!(["verification"]),
        "{detail}"
    );
    let (_, found) = call(
        &server,
        &reader,
        reqwest::Method::GET,
        "/api/belfry/logs/search?service=belfry-verify&query=belfry",
        None,
    );
    assert_eq!(found["data"]["total"], 1, "{found}");

    // The test sends are in the audit log, by the pipeline's token.
    let (_, audit) = call(&server, &admin, reqwest::Method::GET, "/api/belfry/audit", None);
    let tests: Vec<&Value> = audit["data"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "receiver.test")
        .collect();
    assert_eq!(tests.len(), 2, "{audit}");
    assert!(
        tests.iter().any(
            |e| e["target"] == "/api/belfry/receivers/team/test" && e["actor"] == "token:deploy-pipeline"
        ),
        "{audit}"
    );

    // JSON, without --send-test or a DSN: those two are skipped with a
    // hint, which does not fail the run.
    let out = verify(&url, Some(&pipeline), &["--format", "json", "--timeout", "150s"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true, "{json:#}");
    assert_eq!(
        (json["passed"].as_u64(), json["skipped"].as_u64()),
        (Some(4), Some(2)),
        "{json:#}"
    );
    let status = |name: &str| {
        json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("no {name} in {json:#}"))
            .clone()
    };
    assert_eq!(status("receivers")["status"], "skip");
    assert!(
        status("receivers")["summary"]
            .as_str()
            .unwrap()
            .contains("--send-test")
    );
    assert!(status("errors")["summary"].as_str().unwrap().contains("--dsn"));
    assert_eq!(
        test_alerts_at_hook(&hook).len(),
        1,
        "nothing sent without --send-test"
    );

    // Break one thing of each kind.
    let closed = closed_port();
    write_config(&config, &peers, Some(closed));
    let (status, body) = call(&server, &pipeline, reqwest::Method::POST, "/-/reload", None);
    assert_eq!(status, 200, "{body}");
    let empty_dashboard = json!({
        "uid": "verify-empty",
        "title": "Verify empty",
        "time": {"from": "now-1h", "to": "now"},
        "panels": [
            {"id": 1, "type": "timeseries", "title": "Missing series",
             "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
             "datasource": {"type": "prometheus", "uid": "x"},
             "targets": [{"refId": "A", "expr": "sum(rate(verify_metric_never_written_total[$__rate_interval]))"}]},
            {"id": 2, "type": "stat", "title": "Typo",
             "gridPos": {"h": 8, "w": 12, "x": 12, "y": 0},
             "datasource": {"type": "prometheus", "uid": "x"},
             "targets": [{"refId": "A", "expr": "sum(up"}]}
        ]
    });
    let (status, body) = call(
        &server,
        &pipeline,
        reqwest::Method::POST,
        "/api/belfry/dashboards",
        Some(empty_dashboard),
    );
    assert_eq!(status, 200, "{body}");
    // The report names what the API shows, once the server shows it.
    wait_for(
        Duration::from_secs(60),
        "the bad rule's error and the down target",
        || {
            let (_, rules) = call(
                &server,
                &reader,
                reqwest::Method::GET,
                "/api/v1/rules?rule_group[]=verify-bad",
                None,
            );
            let (_, targets) = call(&server, &reader, reqwest::Method::GET, "/api/v1/targets", None);
            let rule_err = rules["data"]["groups"][0]["rules"][0]["health"] == "err";
            let down = targets["data"]["activeTargets"]
                .as_array()?
                .iter()
                .any(|t| t["scrapePool"] == "lms-reports" && t["health"] == "down");
            (rule_err && down).then_some(())
        },
    );

    // What is broken is settled: a short wait for it to mend will do.
    let out = verify(
        &url,
        Some(&pipeline),
        &["--send-test", "--dsn", &dsn, "--timeout", "10s"],
    );
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    for check in ["dashboards", "rules", "targets", "receivers"] {
        assert!(line_of(&report, check).starts_with("FAIL"), "{}", text(&out));
    }
    for check in ["errors", "logs"] {
        assert!(line_of(&report, check).starts_with("PASS"), "{}", text(&out));
    }
    for culprit in [
        "dashboard \"Verify empty\" (verify-empty), panel \"Missing series\" target A: no data over the last 1h",
        "query: sum(rate(verify_metric_never_written_total[1m]))",
        "dashboard \"Verify empty\" (verify-empty), panel \"Typo\" target A: ",
        "query: sum(up",
        "group \"verify-bad\" (",
        "recording rule \"verify:broken\": ",
        "many-to-one matching must be explicit",
        &format!("job \"lms-reports\" target http://127.0.0.1:{closed}/metrics: down: "),
        "receiver \"broken\", integration 0 (webhook): ",
    ] {
        assert!(
            report.contains(culprit),
            "{culprit:?} missing from:\n{}",
            text(&out)
        );
    }
    assert!(line_of(&report, "receivers").contains("(2 did)"), "{report}");
    assert!(
        report.ends_with("FAIL: 2 passed, 4 failed, 0 skipped\n"),
        "{report}"
    );

    // A token that may read but not write: the test notifications are
    // refused, by name of the permission.
    let out = verify(
        &url,
        Some(&reader),
        &[
            "--send-test",
            "--skip",
            "dashboards",
            "--skip",
            "rules",
            "--skip",
            "targets",
            "--skip",
            "errors",
            "--skip",
            "logs",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("needs write permission"), "{}", text(&out));

    // The checks cannot run: exit 2, with a message saying why.
    let out = verify(&url, Some("bfy_notARealTokenAtAll0000000000000000"), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("refused the token"), "{}", text(&out));
    let out = verify(&url, None, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("needs a token"), "{}", text(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let nowhere = format!("http://127.0.0.1:{}", closed_port());
    let out = verify(&nowhere, Some(&pipeline), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("cannot reach"), "{}", text(&out));
    server.stop();
}
