//! The SEV-3 reports on a real server with a real SMTP server (Python's
//! aiosmtpd): a day of LMS metrics and a week of disk usage imported with
//! `belfry import`, alerts posted to `/api/v2/alerts` (their changes in the
//! alert history), a Sentry event (a new issue) and LMS log lines. `belfry
//! report send daily|weekly|monthly` delivers HTML mails with a plain-text
//! alternative whose sections carry that data; a capacity metric nobody
//! sends is "no data" and a query stopped by a limit (the logs' deliberately
//! low `max_lines_read`) is a failed section — in the mail, which still goes
//! out. The preview pages render the same report. The daily report's slot
//! passes while the server is down: the next start sends it by itself, and
//! the start after that does not send it again.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::alerting::start_smtp_sink;
use crate::support::{BelfryServer, block, get_json, html_page, http_client, wait_for};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const MINUTE: i64 = 60_000;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// `HH:MM` (UTC) of a time in ms.
fn hh_mm(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%H:%M")
        .to_string()
}

fn ymd_hm(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The metrics the reports read, with timestamps: three hours of the
/// instrumentator's counters and the sign-in metrics every 5 minutes up to
/// `end`, and a week of a filling disk.
fn history_file(end: i64) -> String {
    let mut out = String::new();
    for i in 0..=36i64 {
        let t = end - (36 - i) * 5 * MINUTE;
        let n = i as f64;
        out.push_str(&format!(
            "http_requests_total{{job=\"lms-api\",handler=\"/api/courses\",method=\"GET\",status=\"2xx\"}} {} {t}\n",
            100.0 * n
        ));
        out.push_str(&format!(
            "http_requests_total{{job=\"lms-api\",handler=\"/api/uploads\",method=\"POST\",status=\"2xx\"}} {} {t}\n",
            90.0 * n
        ));
        out.push_str(&format!(
            "http_requests_total{{job=\"lms-api\",handler=\"/api/uploads\",method=\"POST\",status=\"5xx\"}} {} {t}\n",
            10.0 * n
        ));
        for (le, share) in [
            ("0.1", 0.5),
            ("0.5", 0.9),
            ("1", 0.97),
            ("2.5", 1.0),
            ("+Inf", 1.0),
        ] {
            out.push_str(&format!(
                "http_request_duration_seconds_bucket{{job=\"lms-api\",handler=\"/api/courses\",method=\"GET\",le=\"{le}\"}} {} {t}\n",
                100.0 * n * share
            ));
        }
        out.push_str(&format!(
            "lms_logins_total{{job=\"lms-api\",method=\"password\",result=\"success\",reason=\"none\"}} {} {t}\n",
            20.0 * n
        ));
        out.push_str(&format!(
            "lms_logins_total{{job=\"lms-api\",method=\"password\",result=\"failure\",reason=\"bad_password\"}} {} {t}\n",
            3.0 * n
        ));
        out.push_str(&format!(
            "lms_account_lockouts_total{{job=\"lms-api\"}} {} {t}\n",
            n
        ));
        out.push_str(&format!(
            "lms_rate_limit_hits_total{{job=\"lms-api\",limit=\"login\",handler=\"/api/login\"}} {} {t}\n",
            2.0 * n
        ));
    }
    // 100 GB, free space falling 4 GB a day from 60 GB: 68% used now,
    // 90% in five and a half days.
    // Every 5 minutes, as a scrape within the lookback of each hourly
    // step of the forecast's subquery.
    for k in 0..=2016i64 {
        let t = end - (2016 - k) * 5 * MINUTE;
        let h = k as f64 / 12.0;
        let labels = r#"job="node",instance="db1:9100",mountpoint="/var/lib/postgresql",fstype="ext4",device="/dev/sdb1""#;
        out.push_str(&format!("node_filesystem_size_bytes{{{labels}}} 100e9 {t}\n"));
        out.push_str(&format!(
            "node_filesystem_avail_bytes{{{labels}}} {} {t}\n",
            60e9 - 4e9 * h / 24.0
        ));
    }
    out
}

fn post(server: &BelfryServer, path: &str, content_type: &str, body: String) -> (u16, String) {
    block(async {
        let resp = http_client()
            .post(server.url(path))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    })
}

fn alert(name: &str, labels: &[(&str, &str)], ends: Option<i64>) -> Value {
    let mut l = json!({"alertname": name});
    for (k, v) in labels {
        l[*k] = json!(v);
    }
    let mut a = json!({"labels": l, "annotations": {"summary": format!("{name} summary")}});
    if let Some(e) = ends {
        a["endsAt"] = json!(belfry::model::rfc3339(
            UNIX_EPOCH + Duration::from_millis(e as u64)
        ));
    }
    a
}

/// `belfry report ARGS --url URL`: its standard output; fails the test
/// when the command fails.
fn cli(server: &BelfryServer, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_belfry"))
        .arg("report")
        .args(args)
        .args(["--url", &server.url("")])
        .env_remove("BELFRY_TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "belfry report {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A delivered message: its headers and its decoded text and HTML parts.
struct Mail {
    headers: String,
    text: String,
    html: String,
}

fn decode_part(part: &str) -> (String, String) {
    let (head, body) = part
        .split_once("\r\n\r\n")
        .or_else(|| part.split_once("\n\n"))
        .unwrap_or((part, ""));
    let lower = head.to_ascii_lowercase();
    let body = if lower.contains("content-transfer-encoding: base64") {
        let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(clean).unwrap()).unwrap()
    } else if lower.contains("content-transfer-encoding: quoted-printable") {
        quoted_printable(body)
    } else {
        body.to_string()
    };
    (lower, body)
}

fn quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

fn read_mail(path: &Path) -> Mail {
    let raw = std::fs::read_to_string(path).unwrap();
    let headers = raw.split("\r\n\r\n").next().unwrap_or_default().to_string();
    let boundary = headers
        .split("boundary=\"")
        .nth(1)
        .and_then(|b| b.split('"').next())
        .unwrap_or_else(|| panic!("no multipart boundary in {raw}"));
    let (mut text, mut html) = (String::new(), String::new());
    for part in raw.split(&format!("--{boundary}")).skip(1) {
        let (head, body) = decode_part(part.trim_start_matches("\r\n"));
        if head.contains("text/plain") {
            text = body;
        } else if head.contains("text/html") {
            html = body;
        }
    }
    assert!(!text.is_empty() && !html.is_empty(), "both parts in {raw}");
    Mail { headers, text, html }
}

/// The `n`-th message the sink received (1-based), once it is there.
fn mail(dir: &Path, n: usize) -> Mail {
    let path = dir.join(format!("{n}.eml"));
    wait_for(Duration::from_secs(60), &format!("mail {n}"), || {
        path.exists().then_some(())
    });
    read_mail(&path)
}

fn mail_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "eml"))
        .count()
}

fn report_status(server: &BelfryServer, name: &str) -> Value {
    let list = get_json(&server.url("/api/belfry/reports"))["data"].clone();
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap()
        .clone()
}

#[test]
fn reports_are_mailed_with_their_data_and_on_schedule() {
    let mails = tempfile::tempdir().unwrap();
    let Some((_smtp, port)) = start_smtp_sink(mails.path()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("belfry.yml");
    // The daily report's slot, 3 to 4 minutes from now (UTC).
    let slot = (now_ms() / MINUTE + 4) * MINUTE;
    std::fs::write(
        &config,
        format!(
            r#"
errors:
  projects: [{{id: 1, name: lms, keys: [{KEY}]}}]
logs:
  # Low on purpose: the monthly report's reading of every line through
  # `| json` stops at it, and goes out marked failed.
  query: {{max_lines_read: 40}}
alerting:
  global:
    smtp_smarthost: '127.0.0.1:{port}'
    smtp_from: 'Belfry <belfry@lms.example>'
    smtp_require_tls: false
  route:
    receiver: nobody-mailed
    group_wait: 1h
  receivers:
    - name: nobody-mailed
    - name: it-staff
      email_configs:
        - to: 'it@lms.example'
      webhook_configs:
        - url: 'http://127.0.0.1:9/unused'
reports:
  daily: {{receiver: it-staff, at: '{}'}}
"#,
            hh_mm(slot)
        ),
    )
    .unwrap();

    // History first, through the backfill path, then the server.
    let imported = dir.path().join("history.prom");
    let end = now_ms() - MINUTE;
    std::fs::write(&imported, history_file(end)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_belfry"))
        .arg("import")
        .arg(&imported)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let server = BelfryServer::start(&data, Some(&config));

    // An alert that fired and resolved, one still firing, a login anomaly.
    let alerts = json!([
        alert(
            "LMSAPIDown",
            &[("severity", "critical"), ("job", "lms-api")],
            None
        ),
        alert("LMSCacheHitRatioLow", &[("severity", "warning")], None),
        alert(
            "LMSUnusualLoginCountry",
            &[
                ("severity", "warning"),
                ("category", "login_anomaly"),
                ("user", "u-7f3a")
            ],
            None
        ),
    ]);
    let (status, body) = post(&server, "/api/v2/alerts", "application/json", alerts.to_string());
    assert_eq!(status, 200, "{body}");
    let resolved = json!([alert(
        "LMSAPIDown",
        &[("severity", "critical"), ("job", "lms-api")],
        Some(now_ms() - 1_000)
    )]);
    let (status, body) = post(
        &server,
        "/api/v2/alerts",
        "application/json",
        resolved.to_string(),
    );
    assert_eq!(status, 200, "{body}");

    // A Sentry event: a new issue.
    let event = json!({"message": "grade export failed for course 42", "level": "error"}).to_string();
    let envelope = crate::errors_sentry::envelope(
        r#"{"event_id":"5d1f4e2a9b3d4c5e8f6a7b8c9d0e1f2a"}"#,
        &[("event", event.as_bytes())],
    );
    let status = block(async {
        http_client()
            .post(server.url(&format!("/api/1/envelope/?sentry_key={KEY}")))
            .header("Content-Type", "application/x-sentry-envelope")
            .body(envelope)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "{status}");

    // Log lines: the same error four times with different ids, another
    // once, security events, and enough ordinary lines that reading every
    // line passes the configured max_lines_read.
    let mut lines = String::new();
    for (i, course) in [12, 13, 14, 15].iter().enumerate() {
        lines.push_str(&format!(
            "{{\"service\":\"lms-api\",\"level\":\"error\",\"message\":\"grade sync failed for course {course}\",\"request_id\":\"r{i}\"}}\n"
        ));
    }
    lines.push_str(
        "{\"service\":\"lms-worker\",\"level\":\"critical\",\"message\":\"celery broker unreachable\"}\n",
    );
    for _ in 0..3 {
        lines.push_str("{\"service\":\"lms-api\",\"level\":\"warning\",\"message\":\"login failed\",\"event\":\"login_failed\",\"reason\":\"bad_password\"}\n");
    }
    for i in 0..50 {
        lines.push_str(&format!(
            "{{\"service\":\"lms-api\",\"level\":\"info\",\"message\":\"GET /api/courses {i}\"}}\n"
        ));
    }
    let (status, body) = post(&server, "/api/belfry/logs", "application/x-ndjson", lines);
    assert_eq!(status, 200, "{body}");

    wait_for(
        Duration::from_secs(30),
        "the issue, the history and the logs",
        || {
            let issues = get_json(&server.url("/api/belfry/errors/issues?project=1"));
            let history = get_json(&server.url("/api/belfry/alerts/history?query=LMSAPIDown"));
            let logs = get_json(&server.url("/api/belfry/logs/search?query=broker&start=0"));
            (issues["data"].as_array().is_some_and(|a| !a.is_empty())
                && history["data"].as_array().is_some_and(|a| a.len() >= 2)
                && logs["data"]["lines"].as_array().is_some_and(|a| !a.is_empty()))
            .then_some(())
        },
    );

    // The daily summary, sent now.
    let said = cli(&server, &["send", "daily"]);
    assert!(said.contains("sent daily report to it-staff"), "{said}");
    assert!(said.contains("delivered: email it@lms.example"), "{said}");
    assert!(said.contains("skipped: webhook"), "{said}");
    let daily = mail(mails.path(), 1);
    assert!(
        daily.headers.contains("Subject: [Belfry] Daily summary for "),
        "{}",
        daily.headers
    );
    assert!(
        daily.headers.contains("multipart/alternative"),
        "{}",
        daily.headers
    );
    assert!(
        daily.headers.contains("X-Envelope-To: it@lms.example"),
        "{}",
        daily.headers
    );
    let html = &daily.html;
    assert!(
        html.starts_with("<!doctype html>") && html.contains("<style>"),
        "{html}"
    );
    for want in [
        // The alerts: LMSAPIDown fired and resolved, two others fired.
        r#"<a href="http://"#,
        ">LMSAPIDown</a>",
        ">LMSCacheHitRatioLow</a>",
        // The new issue.
        "grade export failed for course 42",
        // The endpoints: /api/uploads answered 10% 5xx.
        "/api/uploads",
        "90.0%",
        "/api/courses",
        "100.0%",
        // The log errors, folded into one pattern, and by service.
        "grade sync failed for course &#60;*&#62;",
        "celery broker unreachable",
        "lms-worker",
    ] {
        assert!(html.contains(want), "daily HTML lacks {want:?}:\n{html}");
    }
    assert!(
        !html.contains("report-state failed"),
        "nothing failed in the daily:\n{html}"
    );
    let text = &daily.text;
    for want in [
        "== Alerts ==",
        // The three posted, and the new issue's ErrorIssueNew.
        "Alerts fired: 4",
        "Resolved: 1",
        "New issues: 1",
        "== Availability and latency per endpoint ==",
        "grade sync failed for course <*>",
    ] {
        assert!(text.contains(want), "daily text lacks {want:?}:\n{text}");
    }

    // The weekly capacity: the disk's forecast; memory nobody sends.
    let said = cli(&server, &["send", "weekly", "--receiver", "it-staff"]);
    assert!(said.contains("sent weekly report"), "{said}");
    let weekly = mail(mails.path(), 2);
    for want in [
        "db1:9100 /var/lib/postgresql",
        "68.0%",
        "in 5 d",
        "<strong>No data</strong>: memory",
        "<strong>No data</strong>: celery queue depth",
    ] {
        assert!(
            weekly.html.contains(want),
            "weekly HTML lacks {want:?}:\n{}",
            weekly.html
        );
    }
    assert!(weekly.text.contains("NO DATA: memory"), "{}", weekly.text);

    // The monthly security summary: sign-ins, lockouts, the login anomaly,
    // the audit log (the sends above) — and the logs' events section,
    // stopped by max_lines_read, marked failed in the mail that still went.
    let said = cli(&server, &["send", "monthly", "--receiver", "it-staff"]);
    assert!(
        said.contains("sections marked failed: Security events in the logs"),
        "{said}"
    );
    let monthly = mail(mails.path(), 3);
    assert!(
        monthly.headers.contains("(1 section failed)"),
        "{}",
        monthly.headers
    );
    for want in [
        "bad_password",
        "Accounts locked",
        "LMSUnusualLoginCountry",
        "user=u-7f3a",
        "report.send",
        "<strong>Failed</strong>: security events in the logs could not be read:",
    ] {
        assert!(
            monthly.html.contains(want),
            "monthly HTML lacks {want:?}:\n{}",
            monthly.html
        );
    }
    assert!(
        monthly.html.contains("max_lines_read") || monthly.html.contains("lines"),
        "{}",
        monthly.html
    );
    assert!(
        monthly.text.contains("FAILED: security events in the logs"),
        "{}",
        monthly.text
    );
    assert!(
        monthly.text.contains("Unusual sign-in alerts: 1"),
        "{}",
        monthly.text
    );

    // Refusals name the problem.
    let (status, body) = post(
        &server,
        "/api/belfry/reports/hourly/send",
        "application/json",
        String::new(),
    );
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("hourly"), "{body}");
    let (status, body) = post(
        &server,
        "/api/belfry/reports/daily/send",
        "application/json",
        json!({"receiver": "nobody"}).to_string(),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains(r#"\"nobody\" is not a receiver of alerting.receivers"#),
        "{body}"
    );
    let (status, body) = post(
        &server,
        "/api/belfry/reports/weekly/send",
        "application/json",
        json!({"receiver": "nobody-mailed"}).to_string(),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("no e-mail integration"), "{body}");

    // The pages: the list with schedules and last sends, a preview of the
    // same report, a period chosen on the page.
    let client = http_client();
    let list = html_page(&client, &server.url("/reports"));
    assert!(
        list.contains("Daily summary") && list.contains("Weekly capacity"),
        "{list}"
    );
    assert!(list.contains(&format!("daily at {} UTC", hh_mm(slot))), "{list}");
    assert!(list.contains("to it-staff"), "{list}");
    let page = html_page(&client, &server.url("/reports/daily"));
    assert!(
        page.contains(r#"<article class="report" id="report-daily">"#),
        "{page}"
    );
    assert!(
        page.contains("grade sync failed for course &#60;*&#62;"),
        "{page}"
    );
    assert!(page.contains("/static/css/report.css"), "{page}");
    let week = html_page(&client, &server.url("/reports/weekly?from=now-30d&to=now"));
    assert!(week.contains(r#"<option value="now-30d" selected>"#), "{week}");
    assert!(week.contains("68.0%"), "{week}");
    let missing = block(async {
        client
            .get(server.url("/reports/hourly"))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(missing.as_u16(), 404);

    // The schedule: the slot passes while the server is down; the next
    // start sends it by itself, over the day before the slot.
    let first_seen = report_status(&server, "daily");
    if now_ms() < slot {
        assert_eq!(first_seen["lastSlotMs"], Value::Null, "{first_seen}");
        assert_eq!(first_seen["nextDueMs"], json!(slot), "{first_seen}");
    }
    let before = mail_count(mails.path());
    if now_ms() < slot - 5_000 {
        server.stop();
        while now_ms() <= slot + 1_000 {
            std::thread::sleep(Duration::from_millis(500));
        }
    } else {
        // A slow machine reached the slot with the server up: it sends
        // the report itself, and the restarts below hold all the same.
        eprintln!("the slot came while the server ran; it sends the report without a restart");
        server.stop();
    }
    let server = BelfryServer::start(&data, Some(&config));
    wait_for(
        Duration::from_secs(60),
        "the daily report of the slot sent",
        || (report_status(&server, "daily")["lastSlotMs"] == json!(slot)).then_some(()),
    );
    let scheduled = mail(mails.path(), before + 1);
    let period = format!("{} to {} UTC", ymd_hm(slot - 24 * 60 * MINUTE), ymd_hm(slot));
    assert!(
        scheduled.headers.contains(&period),
        "{period}: {}",
        scheduled.headers
    );
    assert!(
        scheduled
            .html
            .contains("grade sync failed for course &#60;*&#62;"),
        "{}",
        scheduled.html
    );
    server.stop();

    // And a start after that does not send it again.
    let server = BelfryServer::start(&data, Some(&config));
    // Longer than the scheduler's tick: it has looked at the slot.
    std::thread::sleep(Duration::from_secs(20));
    assert_eq!(mail_count(mails.path()), before + 1);
    let status = report_status(&server, "daily");
    assert_eq!(status["lastSlotMs"], json!(slot), "{status}");
    assert!(status["lastError"].is_null(), "{status}");
    let metrics = crate::support::http_get(&server.url("/metrics")).unwrap().1;
    assert!(
        !metrics.contains("belfry_reports_sent_total{report=\"daily\",trigger=\"schedule\""),
        "not sent by this start:\n{metrics}"
    );
    server.stop();
}
