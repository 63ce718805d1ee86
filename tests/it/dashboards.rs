//! Dashboards over HTTP on a real server with access control on: the four
//! built-in LMS dashboards listed and read-only, the guide's Appendix A
//! sample imported (beside the built-in one it names), a malformed
//! dashboard refused naming the field's path, export, duplicate and
//! delete — each change audited under the token that made it, and the
//! imports still there after a restart.

use std::path::Path;

use serde_json::Value;

use belfry::auth::{Actor, Scope};

use crate::support::{BelfryServer, block, http_client, with_accounts};

/// Tokens to read, to change, and to read the audit log with.
fn tokens(data: &Path) -> (String, String, String) {
    with_accounts(data, |accounts| {
        let cli = Actor::cli();
        let read = accounts.tokens.add(&cli, "reader", &[Scope::Read], None).unwrap();
        let write = accounts
            .tokens
            .add(&cli, "editor", &[Scope::Read, Scope::Write], None)
            .unwrap();
        let admin = accounts
            .tokens
            .add(&cli, "auditor", &[Scope::Admin], None)
            .unwrap();
        (read.secret, write.secret, admin.secret)
    })
}

fn call(server: &BelfryServer, token: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    block(async {
        let mut req = http_client()
            .request(method.parse().unwrap(), server.url(path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b.to_string());
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

/// The guide's Appendix A sample, from `../shared` (absent on a user's clone).
fn appendix_a() -> Option<String> {
    let guide = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/lms-observability-guide.md");
    let Ok(text) = std::fs::read_to_string(&guide) else {
        if std::env::var_os("BELFRY_REQUIRE_SHARED").is_some() {
            panic!("BELFRY_REQUIRE_SHARED is set but {} is missing", guide.display());
        }
        eprintln!("skipping the Appendix A import: {} is absent", guide.display());
        return None;
    };
    let start = text.find("## Appendix A")?;
    let json_start = text[start..].find("```json\n")? + start + "```json\n".len();
    let json_end = text[json_start..].find("```")? + json_start;
    Some(text[json_start..json_end].to_string())
}

#[test]
fn import_export_duplicate_delete_audited_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (read, write, admin) = tokens(&data);
    let server = BelfryServer::start(&data, None);

    let (code, body) = call(&server, &read, "GET", "/api/belfry/dashboards", None);
    assert_eq!(code, 200, "{body}");
    let list: Value = serde_json::from_str(&body).unwrap();
    let uids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["uid"].as_str().unwrap())
        .collect();
    assert_eq!(
        uids,
        [
            "lms-api-performance",
            "lms-user-engagement",
            "lms-system-health",
            "lms-security"
        ]
    );

    // A reader may look, not import.
    let mine = r#"{"title": "Quiz week", "tags": ["lms"], "panels": [{"type": "stat", "title": "Attempts", "gridPos": {"h": 4, "w": 6, "x": 0, "y": 0}, "targets": [{"expr": "sum(lms_quiz_attempts_total)"}]}]}"#;
    assert_eq!(
        call(&server, &read, "POST", "/api/belfry/dashboards", Some(mine)).0,
        403
    );
    let (code, body) = call(&server, &write, "POST", "/api/belfry/dashboards", Some(mine));
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"uid\":\"quiz-week\""), "{body}");
    let (code, body) = call(&server, &write, "POST", "/api/belfry/dashboards", Some(mine));
    assert_eq!(code, 409, "{body}");

    let bad = r#"{"title": "Broken", "panels": [{"type": "stat"}, {"type": "timeseries", "gridPos": {"h": 8, "w": 12, "x": 18, "y": 0}}]}"#;
    let (code, body) = call(&server, &write, "POST", "/api/belfry/dashboards", Some(bad));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("panels[1].gridPos.w"), "{body}");
    let (code, body) = call(
        &server,
        &write,
        "POST",
        "/api/belfry/dashboards",
        Some("{\"title\": "),
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("line 1"), "{body}");

    if let Some(sample) = appendix_a() {
        let (code, body) = call(&server, &write, "POST", "/api/belfry/dashboards", Some(&sample));
        assert_eq!(code, 200, "{body}");
        assert!(body.contains("lms-api-performance-imported"), "{body}");
        let (_, page) = call(&server, &read, "GET", "/d/lms-api-performance-imported", None);
        assert!(
            page.contains("sum(rate(http_requests_total[5m])) by (endpoint)"),
            "{page}"
        );
    }

    // The export is the model alone, as a file, and imports again.
    let (code, exported) = call(
        &server,
        &read,
        "GET",
        "/api/belfry/dashboards/quiz-week?download=1",
        None,
    );
    assert_eq!(code, 200);
    let model: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(model["uid"], "quiz-week");
    assert_eq!(
        model["panels"][0]["targets"][0]["expr"],
        "sum(lms_quiz_attempts_total)"
    );

    let (code, body) = call(
        &server,
        &write,
        "POST",
        "/api/belfry/dashboards/lms-security/duplicate",
        None,
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("lms-security-copy"), "{body}");
    assert_eq!(
        call(
            &server,
            &write,
            "DELETE",
            "/api/belfry/dashboards/lms-security",
            None
        )
        .0,
        403
    );
    assert_eq!(
        call(
            &server,
            &write,
            "DELETE",
            "/api/belfry/dashboards/lms-security-copy",
            None
        )
        .0,
        200
    );
    assert_eq!(
        call(
            &server,
            &read,
            "GET",
            "/api/belfry/dashboards/lms-security-copy",
            None
        )
        .0,
        404
    );
    assert_eq!(call(&server, &read, "GET", "/d/lms-security-copy", None).0, 404);

    let (code, body) = call(&server, &admin, "GET", "/api/belfry/audit?limit=100", None);
    assert_eq!(code, 200, "{body}");
    let audit: Value = serde_json::from_str(&body).unwrap();
    let audit = audit["data"]["entries"].as_array().cloned().unwrap_or_default();
    for action in ["dashboard.import", "dashboard.duplicate", "dashboard.delete"] {
        assert!(
            audit
                .iter()
                .any(|e| e["action"] == action && e["actor"] == "token:editor"),
            "{action} not audited: {audit:?}"
        );
    }
    server.stop();

    let server = BelfryServer::start(&data, None);
    let (code, body) = call(&server, &read, "GET", "/api/belfry/dashboards/quiz-week", None);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"builtin\":false"), "{body}");
    server.stop();
}

/// Every query of the built-in dashboards parses and runs on a real
/// server, every metric it reads is documented (`docs/lms-metrics.md`),
/// and the models keep Grafana's shape: `scripts/check-dashboards`.
#[test]
fn builtin_dashboards_pass_the_checker() {
    let tmp = tempfile::tempdir().unwrap();
    let server = BelfryServer::start(&tmp.path().join("data"), None);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check-dashboards");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(server.url(""))
        .output()
        .expect("run python3");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "check-dashboards failed:\n{report}");
    server.stop();
}
