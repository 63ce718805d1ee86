//! Runbooks over HTTP on a real server with access control on and the
//! LMS rule packs loaded: every pack alert's `runbook_url` resolves to a
//! runbook page with its sections, an alert that fires carries the URL
//! expanded below `server.external_url` in the alerts API and in its
//! notification, admins edit a runbook with a token and through a session
//! with its CSRF token while readers and editors are refused, the edit
//! survives a restart, the built-in text comes back on restore, a runbook
//! is written for a team's own alert, an over-large text is refused with
//! a 400 naming the limit and counted, and the changes are audited.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use belfry::auth::{Actor, Role, Scope};

use crate::log_rules::start_webhook;
use crate::support::{BelfryServer, alert_at_hook, block, free_port, http_client, wait_for, with_accounts};

const SECTIONS: [&str; 4] = [
    "<h2>What it means</h2>",
    "<h2>What to check first</h2>",
    "<h2>How to mitigate</h2>",
    "<h2>When to escalate</h2>",
];

struct Tokens {
    read: String,
    write: String,
    admin: String,
    ingest: String,
}

/// Tokens of each kind, and an admin and a viewer who sign in.
fn accounts(data: &Path) -> Tokens {
    with_accounts(data, |accounts| {
        let cli = Actor::cli();
        let token =
            |name: &str, scopes: &[Scope]| accounts.tokens.add(&cli, name, scopes, None).unwrap().secret;
        accounts
            .users
            .add(&cli, "ada", Role::Admin, "correct horse battery")
            .unwrap();
        accounts
            .users
            .add(&cli, "vic", Role::Viewer, "staple of the viewer")
            .unwrap();
        Tokens {
            read: token("reader", &[Scope::Read]),
            write: token("editor", &[Scope::Read, Scope::Write]),
            admin: token("runbook-admin", &[Scope::Admin]),
            ingest: token("shipper", &[Scope::Ingest]),
        }
    })
}

/// A request with a bearer token or a session's headers.
fn call(server: &BelfryServer, auth: &Auth, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    block(async {
        let mut req = http_client().request(method.parse().unwrap(), server.url(path));
        req = match auth {
            Auth::Token(t) => req.bearer_auth(t),
            Auth::Session { cookie, csrf } => req.header("cookie", cookie).header("x-csrf-token", csrf),
        };
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b.to_string());
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

enum Auth {
    Token(String),
    Session { cookie: String, csrf: String },
}

fn token(t: &str) -> Auth {
    Auth::Token(t.to_string())
}

fn login(server: &BelfryServer, user: &str, password: &str) -> Auth {
    block(async {
        let r = http_client()
            .post(server.url("/api/belfry/login"))
            .header("Content-Type", "application/json")
            .body(json!({"user": user, "password": password}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "login {user}");
        let cookie = r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let body = json_of(&r.text().await.unwrap());
        Auth::Session {
            cookie,
            csrf: body["data"]["csrf_token"].as_str().unwrap().to_string(),
        }
    })
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Every alerting rule of a rules API answer: name and annotations.
fn alerting_rules(answer: &Value) -> Vec<(String, String, Value)> {
    answer["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| {
            let file = g["file"].as_str().unwrap().to_string();
            g["rules"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["type"] == "alerting")
                .map(move |r| {
                    (
                        file.clone(),
                        r["name"].as_str().unwrap().to_string(),
                        r["annotations"].clone(),
                    )
                })
        })
        .collect()
}

fn metric(server: &BelfryServer, auth: &Auth, line_prefix: &str) -> f64 {
    let (_, text) = call(server, auth, "GET", "/metrics", None);
    text.lines()
        .find_map(|l| l.strip_prefix(line_prefix).map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0.0)
}

#[test]
fn pack_alerts_link_their_runbooks_and_admins_edit_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let tokens = accounts(&data);
    let (hook_url, bodies) = start_webhook();
    let port = free_port();
    // A trailing '/' as people write it: the URLs must not get "//".
    let external = format!("http://127.0.0.1:{port}");
    let config = tmp.path().join("belfry.yml");
    std::fs::write(
        &config,
        format!(
            r#"
server:
  external_url: {external}/
rule_files: [builtin:lms, builtin:lms-logs]
alerting:
  route:
    receiver: hook
    group_by: [alertname]
    group_wait: 100ms
    group_interval: 1s
    repeat_interval: 1h
  receivers:
    - name: hook
      webhook_configs:
        - url: '{hook_url}'
"#
        ),
    )
    .unwrap();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let server = BelfryServer::start_at(addr, &data, Some(&config), &[], None);
    let (read, write, admin) = (token(&tokens.read), token(&tokens.write), token(&tokens.admin));

    // Every alerting rule of both packs (PromQL on Prometheus's rules API,
    // LogQL on Loki's ruler API) names its runbook below $externalURL, and
    // that page exists with the four sections.
    let mut pack_alerts = Vec::new();
    for path in ["/api/v1/rules", "/prometheus/api/v1/rules"] {
        let (code, body) = call(&server, &read, "GET", path, None);
        assert_eq!(code, 200, "{body}");
        pack_alerts.extend(alerting_rules(&json_of(&body)));
    }
    assert!(pack_alerts.len() >= 20, "{pack_alerts:?}");
    let mut files: Vec<&str> = pack_alerts.iter().map(|(f, _, _)| f.as_str()).collect();
    files.dedup();
    assert_eq!(files, ["builtin:lms", "builtin:lms-logs"]);
    for (file, name, annotations) in &pack_alerts {
        let template = annotations["runbook_url"]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: {name} has no runbook_url"));
        let url = template.replace("{{ $externalURL }}", &external);
        assert_eq!(url, format!("{external}/runbooks/{name}"), "{file}: {name}");
        let (code, page) = call(&server, &read, "GET", url.strip_prefix(&external).unwrap(), None);
        assert_eq!(code, 200, "{name}: {page}");
        for section in SECTIONS {
            assert!(page.contains(section), "{name}: no {section}");
        }
        assert!(page.contains(&format!("<h1>Runbook: {name}</h1>")), "{name}");
        // The alert's own rule, with its expression in Explore.
        assert!(page.contains("/explore?lang="), "{name}: no Explore link");
    }

    // A pack alert that fires carries the URL expanded, absolute, in the
    // alerts API and in the notification: one "account locked" line fires
    // LMSAccountLockouts at the group's next evaluation (every minute).
    let line = json!({"streams": [{"stream": {"service": "lms-api", "level": "warning"},
        "values": [[format!("{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()),
                    "account locked after 5 failed sign-ins"]]}]});
    let (code, body) = call(
        &server,
        &token(&tokens.ingest),
        "POST",
        "/loki/api/v1/push",
        Some(&line.to_string()),
    );
    assert!(code == 204 || code == 200, "{code}: {body}");
    let want = format!("{external}/runbooks/LMSAccountLockouts");
    let firing = wait_for(
        Duration::from_secs(150),
        "LMSAccountLockouts in the alerts API",
        || {
            let (_, body) = call(&server, &read, "GET", "/prometheus/api/v1/alerts", None);
            json_of(&body)["data"]["alerts"]
                .as_array()?
                .iter()
                .find(|a| a["labels"]["alertname"] == "LMSAccountLockouts")
                .cloned()
        },
    );
    assert_eq!(firing["annotations"]["runbook_url"], want.as_str());
    let notified = alert_at_hook(&bodies, "LMSAccountLockouts", "firing");
    assert_eq!(notified["annotations"]["runbook_url"], want.as_str());
    // The Alerts page links it from the alert's row.
    let (_, alerts_page) = call(&server, &read, "GET", "/alerts", None);
    assert!(
        alerts_page.contains(&format!("<a href=\"{want}\">Runbook")),
        "no Runbook link on /alerts"
    );
    assert!(alerts_page.contains("href=\"/runbooks\""));

    // The list: every pack alert, with its severity and summary.
    let (code, list) = call(&server, &read, "GET", "/runbooks", None);
    assert_eq!(code, 200);
    for (_, name, _) in &pack_alerts {
        assert!(
            list.contains(&format!("<strong>{name}</strong>")),
            "{name} not listed"
        );
    }
    assert!(list.contains("sev-critical") && list.contains("sev-warning"));
    let (code, api_list) = call(&server, &read, "GET", "/api/belfry/runbooks", None);
    assert_eq!(code, 200);
    // Beside them, the login checks' alerts, which no rule raises.
    assert_eq!(
        json_of(&api_list)["data"].as_array().unwrap().len(),
        pack_alerts.len() + belfry::logins::ALERT_NAMES.len()
    );
    let (code, page) = call(&server, &read, "GET", "/runbooks/LMSImpossibleTravel", None);
    assert_eq!(code, 200);
    assert!(page.contains("Belfry's login checks do"), "{page}");

    // Unknown names: the frame's not-found page, the API's 404.
    let (code, page) = call(&server, &read, "GET", "/runbooks/NoSuchAlert", None);
    assert_eq!(code, 404);
    assert!(page.contains("No runbook is written for the alert"), "{page}");
    assert!(page.contains("href=\"/runbooks\""), "{page}");
    assert_eq!(
        call(&server, &read, "GET", "/api/belfry/runbooks/NoSuchAlert", None).0,
        404
    );

    // Only admins change runbooks: readers and editors are refused.
    let edit = json!({"markdown": "# LMSDBDown\n\nCall the DBA on +44 20 7946 0000 first.\n\n<script>alert(1)</script>\n"}).to_string();
    let path = "/api/belfry/runbooks/LMSDBDown";
    assert_eq!(call(&server, &read, "PUT", path, Some(&edit)).0, 403);
    assert_eq!(call(&server, &write, "PUT", path, Some(&edit)).0, 403);
    assert_eq!(
        call(&server, &read, "GET", "/runbooks/LMSDBDown/edit", None).0,
        403
    );
    let viewer = login(&server, "vic", "staple of the viewer");
    assert_eq!(call(&server, &viewer, "PUT", path, Some(&edit)).0, 403);
    let (code, body) = call(&server, &admin, "PUT", path, Some(&edit));
    assert_eq!(code, 200, "{body}");
    assert_eq!(json_of(&body)["data"]["updated_by"], "token:runbook-admin");
    let (_, page) = call(&server, &read, "GET", "/runbooks/LMSDBDown", None);
    assert!(page.contains("Call the DBA"), "{page}");
    assert!(
        page.contains("Edited by <strong>token:runbook-admin</strong>"),
        "{page}"
    );
    assert!(!page.contains("<script>alert(1)"), "raw HTML passed through");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    // Through the page's form: a session, whose change needs its CSRF token.
    let ada = login(&server, "ada", "correct horse battery");
    let (code, editor) = call(&server, &ada, "GET", "/runbooks/LMSRedisDown/edit", None);
    assert_eq!(code, 200);
    assert!(editor.contains("id=\"runbook-form\"") && editor.contains("# LMSRedisDown"));
    let Auth::Session { cookie, .. } = &ada else {
        unreachable!()
    };
    let forged = Auth::Session {
        cookie: cookie.clone(),
        csrf: "not-the-token".to_string(),
    };
    let redis = json!({"markdown": "# LMSRedisDown\n\nRestart redis-cache-1 first.\n"}).to_string();
    assert_eq!(
        call(
            &server,
            &forged,
            "PUT",
            "/api/belfry/runbooks/LMSRedisDown",
            Some(&redis)
        )
        .0,
        403
    );
    let (code, body) = call(
        &server,
        &ada,
        "PUT",
        "/api/belfry/runbooks/LMSRedisDown",
        Some(&redis),
    );
    assert_eq!(code, 200, "{body}");
    // The editor's preview renders without saving, raw HTML as text; a
    // viewer may not use it.
    let draft = json!({"markdown": "## Draft\n\n<img src=x onerror=alert(1)>\n"}).to_string();
    let preview = "/api/belfry/runbooks/LMSDBDown/preview";
    let (code, body) = call(&server, &ada, "POST", preview, Some(&draft));
    assert_eq!(code, 200, "{body}");
    let html = json_of(&body)["data"]["html"].as_str().unwrap().to_string();
    assert!(
        html.contains("<h2>Draft</h2>") && html.contains("&lt;img") && !html.contains("<img"),
        "{html}"
    );
    assert_eq!(call(&server, &viewer, "POST", preview, Some(&draft)).0, 403);
    let (_, body) = call(&server, &read, "GET", "/api/belfry/runbooks/LMSDBDown", None);
    assert!(!body.contains("Draft"), "the preview saved: {body}");

    // A team's own alert gets a runbook its rule can point at.
    let theirs = json!({"markdown": "# GradeSyncStuck\n\nThe SIS sync is stuck.\n"}).to_string();
    assert_eq!(
        call(
            &server,
            &admin,
            "PUT",
            "/api/belfry/runbooks/GradeSyncStuck",
            Some(&theirs)
        )
        .0,
        200
    );
    assert_eq!(
        call(&server, &read, "GET", "/runbooks/GradeSyncStuck", None).0,
        200
    );

    // Too large: a 400 naming the limit, counted.
    let refused = "belfry_runbook_edits_refused_total{reason=\"too_large\"} ";
    let before = metric(&server, &read, refused);
    let big = json!({"markdown": "x".repeat(64 * 1024 + 1)}).to_string();
    let (code, body) = call(&server, &admin, "PUT", path, Some(&big));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("64 KiB"), "{body}");
    assert_eq!(metric(&server, &read, refused), before + 1.0);
    let (code, body) = call(
        &server,
        &admin,
        "PUT",
        "/api/belfry/runbooks/%0Abad",
        Some(&theirs),
    );
    assert_eq!(code, 400, "{body}");

    // The edits survive a restart.
    server.stop();
    let server = BelfryServer::start_at(addr, &data, Some(&config), &[], None);
    let (_, body) = call(&server, &read, "GET", path, None);
    let kept = json_of(&body);
    assert_eq!(kept["data"]["edited"], true);
    assert!(
        kept["data"]["markdown"]
            .as_str()
            .unwrap()
            .contains("Call the DBA")
    );
    let (_, body) = call(&server, &read, "GET", "/api/belfry/runbooks/LMSRedisDown", None);
    assert_eq!(json_of(&body)["data"]["updated_by"], "ada");
    assert_eq!(
        call(&server, &read, "GET", "/runbooks/GradeSyncStuck", None).0,
        200
    );

    // Restore: the built-in text again; a second restore has nothing to undo;
    // the team's runbook is removed.
    assert_eq!(call(&server, &write, "DELETE", path, None).0, 403);
    let (code, body) = call(&server, &admin, "DELETE", path, None);
    assert_eq!(code, 200, "{body}");
    let restored = json_of(&body);
    assert_eq!(restored["data"]["edited"], false);
    assert!(
        restored["data"]["markdown"]
            .as_str()
            .unwrap()
            .starts_with("# LMSDBDown\n")
    );
    assert!(
        restored["data"]["markdown"]
            .as_str()
            .unwrap()
            .contains("## How to mitigate")
    );
    let (_, page) = call(&server, &read, "GET", "/runbooks/LMSDBDown", None);
    assert!(!page.contains("Call the DBA") && page.contains("The built-in text"));
    assert_eq!(call(&server, &admin, "DELETE", path, None).0, 409);
    assert_eq!(
        call(
            &server,
            &admin,
            "DELETE",
            "/api/belfry/runbooks/GradeSyncStuck",
            None
        )
        .0,
        200
    );
    assert_eq!(
        call(&server, &read, "GET", "/runbooks/GradeSyncStuck", None).0,
        404
    );

    // Each change is in the audit log, under who made it.
    let (code, body) = call(&server, &admin, "GET", "/api/belfry/audit?limit=100", None);
    assert_eq!(code, 200, "{body}");
    let audit = json_of(&body)["data"]["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let entry = |actor: &str, detail: &str, target: &str| {
        audit.iter().any(|e| {
            e["action"] == "runbook.edit"
                && e["actor"] == actor
                && e["detail"] == detail
                && e["target"] == target
        })
    };
    assert!(
        entry("token:runbook-admin", "PUT", "/api/belfry/runbooks/LMSDBDown"),
        "{audit:?}"
    );
    assert!(
        entry("ada", "PUT", "/api/belfry/runbooks/LMSRedisDown"),
        "{audit:?}"
    );
    assert!(
        entry("token:runbook-admin", "DELETE", "/api/belfry/runbooks/LMSDBDown"),
        "{audit:?}"
    );
    // Refused changes are not recorded as changes.
    assert!(
        !audit
            .iter()
            .any(|e| e["action"] == "runbook.edit" && e["actor"] == "token:editor")
    );
    server.stop();
}
