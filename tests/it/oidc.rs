//! Single sign-on against a real OpenID Provider: npm's `oidc-provider`
//! (tests/it/js, installed by scripts/install-test-deps) with a
//! confidential client and accounts carrying a `groups` claim (given out
//! at userinfo, so Belfry reads it there). The test walks the browser's
//! road with a client that keeps cookies per server and follows every
//! redirect itself: Belfry's `/login/oidc` → the provider's login and
//! consent forms → Belfry's callback → a session whose role comes from the
//! groups, and holds (a viewer may not create a silence, an editor may),
//! audited as `via=oidc`. Then what must be refused: a tampered `state`, a
//! callback naming another issuer, a replayed callback, a callback opened
//! in another browser, a person in no mapped group, and a provider's
//! account named like a local user; each counted by reason.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{BelfryServer, ChildGuard, free_port, wait_for};

const CLIENT_SECRET: &str = "oidc-client-secret-71c3e0";
const ADMIN_PW: &str = "admin-pw-oidc-4f2a";

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/js")
}

/// The provider on a free port; stopped when dropped.
fn start_provider(port: u16, redirect_uri: &str) -> Option<ChildGuard> {
    if !js_dir().join("node_modules/oidc-provider").exists() {
        if std::env::var_os("BELFRY_REQUIRE_PEERS").is_some() {
            panic!(
                "BELFRY_REQUIRE_PEERS is set but oidc-provider is not installed (scripts/install-test-deps)"
            );
        }
        eprintln!("skipping: oidc-provider is not installed (scripts/install-test-deps)");
        return None;
    }
    let mut child = Command::new("node")
        .arg("oidc_provider.mjs")
        .arg(port.to_string())
        .arg(redirect_uri)
        .arg(CLIENT_SECRET)
        .current_dir(js_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start node");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "the provider did not start");
    // The provider's later notices go to stdout: it must stay open (a
    // closed pipe would end the provider at its next notice).
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            eprintln!("oidc-provider: {line}");
        }
    });
    Some(ChildGuard(child))
}

/// A browser: cookies per host and port (paths ignored: each server's
/// cookies go back to it), redirects followed by hand.
struct Browser {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    jar: HashMap<String, HashMap<String, String>>,
}

struct Page {
    status: u16,
    url: reqwest::Url,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new() -> Browser {
        belfry::install_crypto_provider();
        Browser {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: HashMap::new(),
        }
    }

    fn origin(url: &reqwest::Url) -> String {
        format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
    }

    fn send(
        &mut self,
        method: reqwest::Method,
        url: &str,
        form: Option<Vec<(String, String)>>,
        csrf: Option<&str>,
    ) -> Page {
        let url = reqwest::Url::parse(url).unwrap();
        let jar = self.jar.entry(Self::origin(&url)).or_default();
        let mut req = self.client.request(method, url.clone());
        if !jar.is_empty() {
            let cookies: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header("cookie", cookies.join("; "));
        }
        if let Some(t) = csrf {
            req = req.header("x-csrf-token", t);
        }
        if let Some(f) = form {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(f)
                .finish();
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let resp = self.rt.block_on(req.send()).unwrap();
        for set in resp.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || set.to_ascii_lowercase().contains("max-age=0") {
                jar.remove(k);
            } else {
                jar.insert(k.to_string(), v.to_string());
            }
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .map(|l| url.join(l.to_str().unwrap()).unwrap().to_string());
        let body = self.rt.block_on(resp.text()).unwrap();
        Page {
            status,
            url,
            location,
            body,
        }
    }

    fn get(&mut self, url: &str) -> Page {
        self.send(reqwest::Method::GET, url, None, None)
    }

    /// Follows redirects and fills the provider's login and consent forms
    /// as `user` until the provider sends the browser to Belfry's callback;
    /// returns that callback URL without requesting it.
    fn walk_to_callback(&mut self, start: &str, user: &str, callback_prefix: &str) -> String {
        let mut page = self.get(start);
        for _ in 0..20 {
            if let Some(next) = page.location.clone() {
                if next.starts_with(callback_prefix) {
                    return next;
                }
                page = self.get(&next);
                continue;
            }
            assert_eq!(page.status, 200, "{}: {}", page.url, page.body);
            let action = capture(&page.body, r#"<form[^>]*action="([^"]+)""#).expect("a form");
            let prompt = capture(&page.body, r#"name="prompt" value="([^"]+)""#).expect("a prompt");
            let mut form = vec![("prompt".to_string(), prompt.clone())];
            if prompt == "login" {
                form.push(("login".into(), user.into()));
                form.push(("password".into(), "any".into()));
            }
            let action = page.url.join(&action).unwrap().to_string();
            page = self.send(reqwest::Method::POST, &action, Some(form), None);
        }
        panic!("the provider never sent the browser back");
    }

    fn session(&mut self, server: &BelfryServer) -> Value {
        let page = self.get(&server.url("/api/belfry/session"));
        assert_eq!(page.status, 200, "{}", page.body);
        serde_json::from_str::<Value>(&page.body).unwrap()["data"].clone()
    }
}

fn capture(text: &str, pattern: &str) -> Option<String> {
    regex::Regex::new(pattern)
        .unwrap()
        .captures(text)
        .map(|c| c[1].replace("&amp;", "&"))
}

fn silence_body() -> Vec<u8> {
    json!({
        "matchers": [{"name": "alertname", "value": "Test", "isRegex": false}],
        "startsAt": "2030-01-01T00:00:00Z",
        "endsAt": "2030-01-02T00:00:00Z",
        "createdBy": "sso",
        "comment": "test"
    })
    .to_string()
    .into_bytes()
}

fn post_silence(browser: &mut Browser, server: &BelfryServer, csrf: &str) -> Page {
    let url = reqwest::Url::parse(&server.url("/api/v2/silences")).unwrap();
    let jar = browser.jar.entry(Browser::origin(&url)).or_default();
    let cookies: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let req = browser
        .client
        .post(url.clone())
        .header("cookie", cookies.join("; "))
        .header("x-csrf-token", csrf)
        .header("content-type", "application/json")
        .body(silence_body());
    let resp = browser.rt.block_on(req.send()).unwrap();
    let status = resp.status().as_u16();
    Page {
        status,
        url,
        location: None,
        body: browser.rt.block_on(resp.text()).unwrap(),
    }
}

#[test]
fn sign_in_through_oidc_provider() {
    let belfry_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let op_port = free_port();
    let callback = format!("http://{belfry_addr}/login/oidc/callback");
    let Some(_provider) = start_provider(op_port, &callback) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("belfry.yml");
    std::fs::write(
        &config,
        format!(
            "auth:\n  admin:\n    user: root\n    password: ${{ADMIN_PW}}\n  oidc:\n    issuer: http://127.0.0.1:{op_port}\n    client_id: belfry\n    client_secret: ${{OIDC_SECRET}}\n    display_name: Test University\n    scopes: [openid, profile, groups]\n    role_claim: groups\n    roles: {{staff: viewer, support: editor}}\n    redirect_url: {callback}\n"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("belfry.log");
    let server = BelfryServer::start_at(
        belfry_addr,
        &data,
        Some(&config),
        &[("ADMIN_PW", ADMIN_PW), ("OIDC_SECRET", CLIENT_SECRET)],
        Some(&log),
    );
    let start = server.url("/login/oidc?next=%2Fapi%2Fbelfry%2Fsession");

    // The login page offers the provider.
    let mut b = Browser::new();
    let page = b.get(&server.url("/login"));
    assert!(
        page.body.contains("Sign in with Test University") && page.body.contains("/login/oidc?next=%2F"),
        "{}",
        page.body
    );

    // ann is in `staff`: a viewer, who may read but not create a silence.
    let mut ann = Browser::new();
    let back = ann.walk_to_callback(&start, "ann", &callback);
    let done = ann.get(&back);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some(server.url("/api/belfry/session").as_str())
    );
    let who = ann.session(&server);
    assert_eq!(
        (who["kind"].as_str(), who["user"].as_str(), who["role"].as_str()),
        (Some("session"), Some("ann"), Some("viewer")),
        "{who}"
    );
    let csrf = who["csrf_token"].as_str().unwrap().to_string();
    let refused = post_silence(&mut ann, &server, &csrf);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(ann.get(&server.url("/api/v2/silences")).status, 200);

    // The same callback again: the login it answered is over.
    let mut replay = ann.get(&back);
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert!(
        replay.body.contains("unknown, expired or already used"),
        "{}",
        replay.body
    );

    // ed is in `support` and `staff`: the higher role, editor, wins.
    let mut ed = Browser::new();
    let back = ed.walk_to_callback(&start, "ed", &callback);
    // A tampered state is refused.
    let tampered = back.replace("state=", "state=x");
    replay = ed.get(&tampered);
    assert_eq!(replay.status, 400, "{}", replay.body);
    // So is one naming another issuer (RFC 9207; the provider sends `iss`).
    assert!(back.contains("iss="), "{back}");
    let mixed_up = back.replace("iss=", "iss=https%3A%2F%2Fevil.example&was=");
    replay = ed.get(&mixed_up);
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert!(replay.body.contains("another issuer"), "{}", replay.body);
    // The refusals above took the login out: ed signs in again.
    let back = ed.walk_to_callback(&start, "ed", &callback);
    assert_eq!(ed.get(&back).status, 303);
    let who = ed.session(&server);
    assert_eq!(
        (who["user"].as_str(), who["role"].as_str()),
        (Some("ed"), Some("editor")),
        "{who}"
    );
    let created = post_silence(&mut ed, &server, who["csrf_token"].as_str().unwrap());
    assert_eq!(created.status, 200, "{}", created.body);

    // A callback opened in another browser (someone else's sign-in sent
    // as a link) lacks the binding cookie and is refused.
    let mut victim = Browser::new();
    let mut attacker = Browser::new();
    let back = attacker.walk_to_callback(&start, "ed", &callback);
    let page = victim.get(&back);
    assert_eq!(page.status, 400, "{}", page.body);
    assert_eq!(
        victim.get(&server.url("/api/belfry/session")).status,
        401,
        "no session"
    );

    // stu is in no mapped group and there is no default role.
    let mut stu = Browser::new();
    let back = stu.walk_to_callback(&start, "stu", &callback);
    let page = stu.get(&back);
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("has no Belfry role"), "{}", page.body);
    assert_eq!(
        stu.get(&server.url("/api/belfry/session")).status,
        401,
        "no session"
    );

    // `root` is Belfry's local admin: a provider's account of that name
    // does not become it.
    let mut root = Browser::new();
    let back = root.walk_to_callback(&start, "root", &callback);
    let page = root.get(&back);
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("is a local account"), "{}", page.body);
    assert_eq!(
        root.get(&server.url("/api/belfry/session")).status,
        401,
        "no session"
    );

    // The refusals are counted by reason; no secret reaches the log.
    let metrics = {
        let mut admin = Browser::new();
        let form = vec![
            ("user".to_string(), "root".to_string()),
            ("password".to_string(), ADMIN_PW.to_string()),
        ];
        let signed_in = admin.send(
            reqwest::Method::POST,
            &server.url("/api/belfry/login"),
            Some(form),
            None,
        );
        assert_eq!(signed_in.status, 303, "{}", signed_in.body);
        // Each sign-in is in the audit log, said to come through OIDC; the
        // editor's silence under the editor's name (an entry may land just
        // after its answer).
        let audit: Value = wait_for(Duration::from_secs(10), "the silence in the audit log", || {
            let audit: Value =
                serde_json::from_str(&admin.get(&server.url("/api/belfry/audit?limit=100")).body).unwrap();
            let created = audit["data"]["entries"]
                .as_array()?
                .iter()
                .any(|e| e["action"] == "silence.create" && e["actor"] == "ed");
            created.then_some(audit)
        });
        let entries = audit["data"]["entries"].as_array().unwrap();
        for user in ["ann", "ed"] {
            assert!(
                entries.iter().any(|e| e["action"] == "session.login"
                    && e["actor"] == user
                    && e["detail"] == "via=oidc"),
                "{user}: {audit}"
            );
        }
        assert!(!entries.iter().any(|e| e["actor"] == "stu"), "{audit}");
        admin.get(&server.url("/metrics")).body
    };
    for want in [
        "belfry_auth_oidc_logins_total 2",
        "belfry_auth_oidc_login_failures_total{reason=\"unknown_state\"} 3",
        "belfry_auth_oidc_login_failures_total{reason=\"invalid_token\"} 1",
        "belfry_auth_oidc_login_failures_total{reason=\"no_role\"} 1",
        "belfry_auth_oidc_login_failures_total{reason=\"local_user\"} 1",
    ] {
        assert!(metrics.contains(want), "{want} not in:\n{metrics}");
    }
    server.stop();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("single sign-on refused"), "{log}");
    assert!(!log.contains(CLIENT_SECRET), "{log}");
}
