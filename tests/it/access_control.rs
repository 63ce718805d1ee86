//! Access control end to end, against a running `belfry serve`: every
//! route of the route table as anonymous, each role and each token scope
//! (401 and 403 exactly where the table says); sessions, CSRF, lockout,
//! the per-address throttle, expired and orphaned tokens, malformed and
//! over-long credentials, the audit log, and no secret in logs, metrics,
//! answers or the data directory. Then the laptop case (open until the
//! first account) and leaving loopback.

use std::path::Path;
use std::time::Duration;

use belfry::auth::{Actor, Permission, Role, Scope, scopes_allow};
use belfry::web::access::route_table::{Need, ROUTES};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{BelfryServer, free_port, grep_dir, wait_for, with_accounts};

/// Passwords of the test's users: long, distinct, greppable.
const VIEWER_PW: &str = "viewer-pw-6c1f9a";
const EDITOR_PW: &str = "editor-pw-0b7e2d";
const ADMIN_PW: &str = "admin-pw-93ad4c";
const LOCKY_PW: &str = "locky-pw-5e8b17";

/// One answer: status, headers, body.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn cookie(&self) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("belfry_session="))
            .map(str::to_string)
    }
}

struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
}

impl Http {
    fn new(base: String) -> Http {
        belfry::install_crypto_provider();
        Http {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base,
        }
    }

    fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(String, String)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Answer {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some((content_type, bytes)) = body {
            req = req.header("content-type", content_type).body(bytes);
        }
        self.rt.block_on(async {
            let resp = req.timeout(Duration::from_secs(30)).send().await.unwrap();
            Answer {
                status: resp.status().as_u16(),
                headers: resp.headers().clone(),
                body: resp.text().await.unwrap(),
            }
        })
    }

    fn get(&self, path: &str, who: &Who) -> Answer {
        self.send(Method::GET, path, &who.headers, None)
    }

    fn post_json(&self, path: &str, who: &Who, body: Value) -> Answer {
        self.send(
            Method::POST,
            path,
            &who.headers,
            Some(("application/json", body.to_string().into_bytes())),
        )
    }

    fn delete(&self, path: &str, who: &Who) -> Answer {
        self.send(Method::DELETE, path, &who.headers, None)
    }

    /// Signs in; the principal carries the cookie and its CSRF token.
    fn login(&self, user: &str, password: &str) -> Who {
        let a = self.post_json(
            "/api/belfry/login",
            &Who::anonymous(),
            json!({"user": user, "password": password}),
        );
        assert_eq!(a.status, 200, "login {user}: {}", a.body);
        let cookie = a.cookie().expect("a session cookie");
        for part in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(cookie.contains(part), "{cookie}");
        }
        assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
        let value = cookie.split(';').next().unwrap().to_string();
        let csrf = a.json()["data"]["csrf_token"].as_str().unwrap().to_string();
        Who {
            label: format!("session {user}"),
            kind: Kind::Person(a.json()["data"]["role"].as_str().unwrap().parse().unwrap()),
            headers: vec![("cookie".into(), value), ("x-csrf-token".into(), csrf)],
        }
    }
}

#[derive(Clone, Debug)]
enum Kind {
    Anonymous,
    Person(Role),
    Program(Scope),
}

/// Who a request is from: a label for messages and the headers it sends.
#[derive(Clone, Debug)]
struct Who {
    label: String,
    kind: Kind,
    headers: Vec<(String, String)>,
}

impl Who {
    fn anonymous() -> Who {
        Who {
            label: "anonymous".into(),
            kind: Kind::Anonymous,
            headers: Vec::new(),
        }
    }

    fn bearer(scope: Scope, secret: &str) -> Who {
        Who {
            label: format!("token {scope}"),
            kind: Kind::Program(scope),
            headers: vec![("authorization".into(), format!("Bearer {secret}"))],
        }
    }

    fn allows(&self, p: Permission) -> bool {
        match self.kind {
            Kind::Anonymous => false,
            Kind::Person(role) => role.allows(p),
            Kind::Program(scope) => scopes_allow(&[scope], p),
        }
    }

    /// What the access layer answers this principal for `need`: None when
    /// it lets the request through, else 401 or 403.
    fn refusal(&self, need: Need) -> Option<u16> {
        let signed = !matches!(self.kind, Kind::Anonymous);
        let allowed = match need {
            Need::Public | Need::DsnKey => return None,
            Need::Signed => true,
            Need::Permission(p) => self.allows(p),
            Need::AnyOf(ps) => ps.iter().any(|p| self.allows(*p)),
        };
        match (signed, allowed) {
            (false, _) => Some(401),
            (true, false) => Some(403),
            (true, true) => None,
        }
    }
}

/// A concrete path for a route pattern.
fn concrete(pattern: &str) -> String {
    let mut out = String::new();
    for segment in pattern.split('/').skip(1) {
        out.push('/');
        out.push_str(match segment {
            "{project_id}" => "1",
            "{index}" => "lms-logs",
            "{version}" => "1.0.0",
            s if s.starts_with('{') => "x",
            s => s,
        });
    }
    if out.is_empty() { "/".into() } else { out }
}

/// The body type the guard in front lets through on each route.
fn body_for(path: &str) -> (&'static str, Vec<u8>) {
    match path {
        "/api/v1/write" => ("application/x-protobuf", Vec::new()),
        "/api/v1/import/prometheus" => ("text/plain", Vec::new()),
        _ => ("application/json", b"{}".to_vec()),
    }
}

/// Users and tokens made in the data directory before the server starts.
fn provision(data: &Path) -> Vec<(Scope, String)> {
    with_accounts(data, |accounts| {
        let cli = Actor::cli();
        for (name, role, pw) in [
            ("vera", Role::Viewer, VIEWER_PW),
            ("ed", Role::Editor, EDITOR_PW),
            ("ada", Role::Admin, ADMIN_PW),
            ("locky", Role::Viewer, LOCKY_PW),
        ] {
            accounts.users.add(&cli, name, role, pw).unwrap();
        }
        Scope::ALL
            .into_iter()
            .map(|s| {
                let t = accounts.tokens.add(&cli, &format!("t-{s}"), &[s], None).unwrap();
                (s, t.secret)
            })
            .collect()
    })
}

fn config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("belfry.yml");
    std::fs::write(
        &path,
        "scrape_configs: []\nauth:\n  lockout: {max_failures: 3, duration: 1h}\n  login_throttle: {max_failures: 8, window: 1h}\n",
    )
    .unwrap();
    path
}

#[test]
fn every_route_answers_each_role_and_scope_as_the_table_says() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = provision(&data);
    let log = dir.path().join("belfry.log");
    let server = BelfryServer::start_with(&data, Some(&config(dir.path())), &[], Some(&log));
    let http = Http::new(format!("http://{}", server.addr));

    let viewer = http.login("vera", VIEWER_PW);
    let editor = http.login("ed", EDITOR_PW);
    let admin = http.login("ada", ADMIN_PW);
    let mut everyone = vec![Who::anonymous(), viewer.clone(), editor.clone(), admin.clone()];
    everyone.extend(tokens.iter().map(|(s, secret)| Who::bearer(*s, secret)));

    // The matrix: every route, read and change, as everyone.
    let mut checked = 0;
    let mut wrong = Vec::new();
    for rule in ROUTES {
        let path = concrete(rule.path);
        for (method, need) in [(Method::GET, rule.read), (Method::POST, rule.change)] {
            if need == Need::DsnKey {
                continue;
            }
            for who in &everyone {
                // Logging out would end the session the rest uses.
                if rule.path == "/api/belfry/logout" && matches!(who.kind, Kind::Person(_)) {
                    continue;
                }
                let body = (method == Method::POST).then(|| body_for(&path));
                let a = http.send(method.clone(), &path, &who.headers, body);
                checked += 1;
                let expected = who.refusal(need);
                let refused_here = match a.status {
                    401 => a.body.contains("authentication required"),
                    403 => a.body.contains("permission"),
                    _ => false,
                };
                let ok = match expected {
                    Some(code) => a.status == code && refused_here,
                    None => !refused_here,
                };
                if !ok {
                    wrong.push(format!(
                        "{method} {path} as {}: wanted {expected:?}, got {} {}",
                        who.label,
                        a.status,
                        a.body.chars().take(160).collect::<String>()
                    ));
                }
                if a.status == 401 {
                    assert!(a.headers.contains_key("www-authenticate"), "{method} {path}");
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} answers differ from the table:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(checked > 1000, "{checked}");

    // The probes and the login page are open; a browser is sent to log in.
    assert_eq!(http.get("/-/healthy", &Who::anonymous()).status, 200);
    let page = http.get("/login", &Who::anonymous());
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<form method=\"post\" action=\"/api/belfry/login\">")
    );
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let browser = http.send(
        Method::GET,
        "/api/belfry/errors/issues?limit=5",
        &[("accept".into(), "text/html,application/xhtml+xml".into())],
        None,
    );
    assert_eq!(browser.status, 303);
    assert_eq!(
        browser.headers["location"],
        "/login?next=/api/belfry/errors/issues%3Flimit%3D5"
    );

    // Basic with the token as password, whatever the user name.
    let read_secret = &tokens.iter().find(|(s, _)| *s == Scope::Read).unwrap().1;
    let basic = reqwest_basic("grafana", read_secret);
    let a = http.send(
        Method::GET,
        "/api/v1/query?query=1",
        &[("authorization".into(), basic)],
        None,
    );
    assert_eq!(a.status, 200, "{}", a.body);

    // CSRF: a session's change needs its own token.
    let silence = json!({
        "matchers": [{"name": "alertname", "value": "Test", "isRegex": false}],
        "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
        "createdBy": "ed", "comment": "maintenance"
    });
    let cookie_only: Vec<_> = editor
        .headers
        .iter()
        .filter(|(k, _)| k == "cookie")
        .cloned()
        .collect();
    let no_csrf = Who {
        headers: cookie_only.clone(),
        ..editor.clone()
    };
    let a = http.post_json("/api/v2/silences", &no_csrf, silence.clone());
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.body.contains("CSRF"), "{}", a.body);
    let mut forged = cookie_only.clone();
    forged.push(("x-csrf-token".into(), viewer.headers[1].1.clone()));
    let a = http.post_json(
        "/api/v2/silences",
        &Who {
            headers: forged,
            ..editor.clone()
        },
        silence.clone(),
    );
    assert_eq!(a.status, 403, "another session's CSRF token: {}", a.body);
    let a = http.post_json("/api/v2/silences", &editor, silence);
    assert_eq!(a.status, 200, "{}", a.body);
    let silence_id = a.json()["silenceID"].as_str().unwrap().to_string();

    // The audit log has it: who, from where, what (written just after
    // the answer).
    let (entries, created) = wait_for(Duration::from_secs(10), "the silence in the audit log", || {
        let audit = http.get("/api/belfry/audit?limit=50", &admin).json();
        let entries = audit["data"]["entries"].as_array().unwrap().clone();
        let created = entries.iter().find(|e| e["action"] == "silence.create")?.clone();
        Some((entries, created))
    });
    assert_eq!(created["actor"], "ed");
    assert_eq!(created["source"], "127.0.0.1");
    assert_eq!(created["target"], "/api/v2/silences");
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "session.login" && e["actor"] == "vera")
    );
    let a = http.get("/api/belfry/audit", &editor);
    assert_eq!(a.status, 403, "only admins read the audit log");

    // Malformed and over-long credentials.
    for (header, value) in [
        ("cookie", "belfry_session=garbage".to_string()),
        ("cookie", format!("belfry_session={}", "b".repeat(6000))),
        ("authorization", format!("Bearer {}", "x".repeat(5000))),
        ("authorization", "Basic !!!".to_string()),
        (
            "authorization",
            "Bearer bfy_00000000000000000000000000000000".to_string(),
        ),
    ] {
        let a = http.send(
            Method::GET,
            "/api/v1/query?query=1",
            &[(header.into(), value)],
            None,
        );
        assert_eq!(a.status, 401, "{header}: {}", a.body);
        assert!(a.body.len() < 400, "{}", a.body);
    }

    // Tokens: an expired one is refused; one made by a user ends with them.
    let made = http.post_json(
        "/api/belfry/tokens",
        &admin,
        json!({"name": "brief", "scopes": ["read"], "expires_in": "1s"}),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let brief = Who::bearer(Scope::Read, made.json()["data"]["secret"].as_str().unwrap());
    wait_for(Duration::from_secs(10), "the token to expire", || {
        let a = http.get("/api/v1/query?query=1", &brief);
        (a.status == 401 && a.body.contains("expired")).then_some(())
    });
    let a = http.post_json(
        "/api/belfry/users",
        &admin,
        json!({"name": "temp", "role": "admin", "password": "temp-pw-77a1e0"}),
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let temp = http.login("temp", "temp-pw-77a1e0");
    let made = http.post_json(
        "/api/belfry/tokens",
        &temp,
        json!({"name": "temps", "scopes": ["read"]}),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.json()["data"]["token"]["owner"], "temp");
    let temps = Who::bearer(Scope::Read, made.json()["data"]["secret"].as_str().unwrap());
    assert_eq!(http.get("/api/v1/query?query=1", &temps).status, 200);
    assert_eq!(http.delete("/api/belfry/users/temp", &admin).status, 200);
    assert_eq!(
        http.get("/api/v1/query?query=1", &temps).status,
        401,
        "the token of a removed user"
    );
    assert_eq!(
        http.get("/api/v1/query?query=1", &temp).status,
        401,
        "the session of a removed user"
    );

    // Logout ends the session for good.
    let gone = http.login("vera", VIEWER_PW);
    assert_eq!(http.post_json("/api/belfry/logout", &gone, json!({})).status, 200);
    let a = http.get("/api/v1/query?query=1", &gone);
    assert_eq!(a.status, 401, "{}", a.body);

    // Lockout: after three failures the right password is refused too.
    for _ in 0..3 {
        let a = http.post_json(
            "/api/belfry/login",
            &Who::anonymous(),
            json!({"user": "locky", "password": "wrong-password"}),
        );
        assert_eq!(a.status, 401, "{}", a.body);
        assert_eq!(a.json()["error"], "invalid user name or password");
    }
    let a = http.post_json(
        "/api/belfry/login",
        &Who::anonymous(),
        json!({"user": "locky", "password": LOCKY_PW}),
    );
    assert_eq!(a.status, 429, "{}", a.body);
    assert!(a.body.contains("locked"), "{}", a.body);
    assert!(a.headers.contains_key("retry-after"));

    // A form login from the page: a redirect to where the user was going.
    let form = format!("user=ed&password={EDITOR_PW}&next=%2Fapi%2Fv1%2Fquery%3Fquery%3D1");
    let a = http.send(
        Method::POST,
        "/api/belfry/login",
        &[("sec-fetch-site".into(), "same-origin".into())],
        Some(("application/x-www-form-urlencoded", form.into_bytes())),
    );
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.headers["location"], "/api/v1/query?query=1");
    assert!(a.cookie().is_some());
    let a = http.send(
        Method::POST,
        "/api/belfry/login",
        &[],
        Some((
            "application/x-www-form-urlencoded",
            b"user=ed&password=nope-nope&next=%2F%2Fevil.example".to_vec(),
        )),
    );
    assert_eq!(a.status, 401);
    assert!(a.body.contains("invalid user name or password") && !a.body.contains("evil.example"));

    // One address failing with many names is throttled, right password
    // or not (5 failures so far of the 8 allowed: a success in between
    // clears nothing).
    for n in 0..3 {
        let a = http.post_json(
            "/api/belfry/login",
            &Who::anonymous(),
            json!({"user": format!("guess{n}"), "password": "guess-password"}),
        );
        assert_eq!(a.status, 401, "{}", a.body);
    }
    let a = http.post_json(
        "/api/belfry/login",
        &Who::anonymous(),
        json!({"user": "ada", "password": ADMIN_PW}),
    );
    assert_eq!(a.status, 429, "{}", a.body);
    assert!(
        a.body.contains("too many failed logins from this address"),
        "{}",
        a.body
    );

    // amtool with a token in its HTTP configuration manages silences;
    // without one it is refused.
    let made = http.post_json(
        "/api/belfry/tokens",
        &admin,
        json!({"name": "amtool", "scopes": ["read", "write"]}),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let amtool_secret = made.json()["data"]["secret"].as_str().unwrap().to_string();
    if let Some(amtool) = crate::support::peer_binary("amtool") {
        let http_config = dir.path().join("amtool-http.yml");
        std::fs::write(
            &http_config,
            format!("authorization:\n  credentials: {amtool_secret}\n"),
        )
        .unwrap();
        let run = |args: &[&str], with_token: bool| {
            let mut cmd = std::process::Command::new(&amtool);
            cmd.arg(format!("--alertmanager.url=http://{}", server.addr));
            if with_token {
                cmd.arg(format!("--http.config.file={}", http_config.display()));
            }
            cmd.args(args).output().unwrap()
        };
        let added = run(
            &[
                "silence",
                "add",
                "alertname=DiskFull",
                "--comment=disk swap",
                "--author=ops",
                "--duration=1h",
            ],
            true,
        );
        assert!(
            added.status.success(),
            "{}",
            String::from_utf8_lossy(&added.stderr)
        );
        let id = String::from_utf8(added.stdout).unwrap().trim().to_string();
        let listed = run(&["silence", "query", "-q"], true);
        assert!(
            String::from_utf8_lossy(&listed.stdout).contains(&id),
            "{listed:?}"
        );
        let refused = run(&["silence", "query", "-q"], false);
        assert!(!refused.status.success(), "amtool without a token");
    }

    // Counted, and no secret anywhere: not in metrics, answers, the log
    // or the data directory.
    let metrics = http.get("/metrics", &admin).body;
    for needle in [
        "belfry_auth_login_failures_total{reason=\"invalid_credentials\"}",
        "belfry_auth_lockouts_total 1",
        "belfry_auth_logins_throttled_total 1",
        "belfry_auth_access_refusals_total{reason=\"csrf\"} 2",
    ] {
        assert!(metrics.contains(needle), "{needle} not in /metrics");
    }
    let mut secrets: Vec<String> = [VIEWER_PW, EDITOR_PW, ADMIN_PW, LOCKY_PW, "temp-pw-77a1e0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    secrets.extend(tokens.iter().map(|(_, s)| s.clone()));
    secrets.push(amtool_secret);
    for who in [&viewer, &editor, &admin] {
        let cookie = &who.headers[0].1;
        secrets.push(cookie.trim_start_matches("belfry_session=").to_string());
    }
    let mut answers = metrics;
    for path in [
        "/api/belfry/users",
        "/api/belfry/tokens",
        "/api/belfry/audit?limit=1000",
        "/api/v1/status/config",
        "/api/v1/status/flags",
        "/api/belfry/session",
    ] {
        answers.push_str(&http.get(path, &admin).body);
    }
    server.stop();
    let log_text = std::fs::read_to_string(&log).unwrap();
    for s in &secrets {
        assert!(!answers.contains(s.as_str()), "a secret in an API answer");
        assert!(!log_text.contains(s.as_str()), "a secret in the server's log");
    }
    let needles: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_eq!(grep_dir(&data, &needles), Vec::<String>::new());
    assert!(log_text.contains("login failed"), "failures are logged");
    assert!(log_text.contains("locked out"), "lockouts are logged");
    let _ = silence_id;
}

fn reqwest_basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A laptop: open while no account exists; the first user made over the
/// API closes every route but the public ones.
#[test]
fn loopback_is_open_until_the_first_account() {
    let dir = tempfile::tempdir().unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), None);
    let http = Http::new(format!("http://{}", server.addr));
    let anon = Who::anonymous();
    assert_eq!(http.get("/api/v1/query?query=1", &anon).status, 200);
    assert_eq!(
        http.get("/api/belfry/session", &anon).json()["data"]["kind"],
        "open"
    );
    let a = http.post_json(
        "/api/belfry/users",
        &anon,
        json!({"name": "dev", "role": "admin", "password": "dev-password-1"}),
    );
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(http.get("/api/v1/query?query=1", &anon).status, 401);
    assert_eq!(http.get("/-/ready", &anon).status, 200);
    let dev = http.login("dev", "dev-password-1");
    assert_eq!(http.get("/api/v1/query?query=1", &dev).status, 200);
    // The self-scrape still reaches /metrics, with its own credential:
    // the next scrape after the first account is up.
    let self_target = || {
        let targets = http.get("/api/v1/targets", &dev).json();
        targets["data"]["activeTargets"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["labels"]["job"] == "belfry").cloned())
            .unwrap_or_else(|| panic!("no self target: {targets}"))
    };
    let before = self_target()["lastScrape"].clone();
    let next = wait_for(
        Duration::from_secs(60),
        "a self-scrape after the first account",
        || {
            let t = self_target();
            (t["lastScrape"] != before).then_some(t)
        },
    );
    assert_eq!(next["health"], "up", "{next}");
    let audit = http.get("/api/belfry/audit", &dev).json();
    let first = audit["data"]["entries"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (first["action"].as_str(), first["actor"].as_str()),
        (Some("user.add"), Some("open")),
        "{audit}"
    );
}

/// Leaving loopback: refused without an admin, with a message saying how;
/// started with the first admin from the environment, and then closed to
/// anonymous callers; `auth.disabled` starts it open, loudly. Driven with
/// curl, as an operator would check it.
#[test]
fn a_public_listen_needs_an_admin() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_belfry");
    let port = free_port();
    let listen = format!("0.0.0.0:{port}");
    let out = std::process::Command::new(bin)
        .args(["serve", "--listen", &listen, "--data-dir"])
        .arg(dir.path().join("a"))
        .env_remove("BELFRY_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to listen on 0.0.0.0"), "{err}");
    assert!(err.contains("belfry user add NAME --role admin"), "{err}");
    assert!(err.contains("auth.admin"), "{err}");

    let config = dir.path().join("admin.yml");
    std::fs::write(
        &config,
        "scrape_configs: []\nauth:\n  admin:\n    user: root\n    password: ${BELFRY_ADMIN_PASSWORD}\n",
    )
    .unwrap();
    let server = serve_public(
        bin,
        &dir.path().join("b"),
        &config,
        port,
        &[("BELFRY_ADMIN_PASSWORD", "root-pw-41c9e2")],
    );
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(curl(&[&format!("{base}/-/healthy")]), "200");
    assert_eq!(curl(&[&format!("{base}/api/v1/query?query=1")]), "401");
    assert_eq!(curl(&[&format!("{base}/metrics")]), "401");
    let login = r#"{"user":"root","password":"root-pw-41c9e2"}"#;
    assert_eq!(
        curl(&[
            "-H",
            "content-type: application/json",
            "--data-binary",
            login,
            &format!("{base}/api/belfry/login")
        ]),
        "200"
    );
    drop(server);

    let port = free_port();
    let config = dir.path().join("disabled.yml");
    std::fs::write(&config, "scrape_configs: []\nauth: {disabled: true}\n").unwrap();
    let log = dir.path().join("disabled.log");
    let server = serve_public_logged(bin, &dir.path().join("c"), &config, port, &[], &log);
    assert_eq!(
        curl(&[&format!("http://127.0.0.1:{port}/api/v1/query?query=1")]),
        "200"
    );
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("auth.disabled is set"), "{text}");
}

struct Public(crate::support::ChildGuard);

impl Drop for Public {
    fn drop(&mut self) {
        self.0.terminate(Duration::from_secs(30));
    }
}

fn serve_public(bin: &str, data: &Path, config: &Path, port: u16, env: &[(&str, &str)]) -> Public {
    serve_public_logged(bin, data, config, port, env, &data.with_extension("log"))
}

fn serve_public_logged(
    bin: &str,
    data: &Path,
    config: &Path,
    port: u16,
    env: &[(&str, &str)],
    log: &Path,
) -> Public {
    let child = std::process::Command::new(bin)
        .args(["serve", "--listen", &format!("0.0.0.0:{port}"), "--data-dir"])
        .arg(data)
        .arg("--config")
        .arg(config)
        .envs(env.iter().copied())
        .env_remove("BELFRY_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let guard = Public(crate::support::ChildGuard(child));
    wait_for(Duration::from_secs(60), "the public listen to be ready", || {
        (curl(&[&format!("http://127.0.0.1:{port}/-/ready")]) == "200").then_some(())
    });
    guard
}

/// curl's status code for a request (`000` when it could not connect).
fn curl(args: &[&str]) -> String {
    let out = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
