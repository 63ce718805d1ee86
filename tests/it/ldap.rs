//! LDAP sign-in (`auth.ldap`) against Debian's real `slapd`: search-then-
//! bind through a search account, group → role, one answer for every
//! refusal, filter injection, STARTTLS and ldaps:// with the test CA, and
//! a directory that is down or silent.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use belfry::auth::{AuthError, LdapDirectory, Role, Verified};
use belfry::config::{LdapConfig, RoleName, Secret};
use belfry::model::PromDuration;
use belfry::selfmetrics::Registry;

use crate::support::block;
use crate::support::slapd::{
    GROUPS_DN, IT_STAFF_DN, PEOPLE_DN, Plain, SERVICE_DN, SERVICE_PASSWORD, Slapd, TEACHING_SUPPORT_DN,
    password,
};

/// The usual configuration: the search account, both groups mapped, no
/// default role.
fn config(url: &str) -> LdapConfig {
    LdapConfig {
        bind_dn: Some(SERVICE_DN.to_string()),
        bind_password: Secret::new(SERVICE_PASSWORD),
        group_base_dn: Some(GROUPS_DN.to_string()),
        groups: BTreeMap::from([
            (IT_STAFF_DN.to_string(), RoleName::Admin),
            (TEACHING_SUPPORT_DN.to_string(), RoleName::Editor),
        ]),
        ..LdapConfig::new(url, PEOPLE_DN)
    }
}

fn verify(directory: &LdapDirectory, name: &str, password: &str) -> Result<Verified, AuthError> {
    block(directory.verify(name, password))
}

fn ok(name: &str, role: Role) -> Verified {
    Verified {
        name: name.to_string(),
        role,
    }
}

fn invalid(r: Result<Verified, AuthError>) -> bool {
    matches!(r, Err(AuthError::InvalidCredentials))
}

/// `belfry_auth_ldap_binds_total{result=…}` as rendered (0 when absent).
fn binds(registry: &Registry, result: &str) -> u64 {
    let needle = format!("belfry_auth_ldap_binds_total{{result=\"{result}\"}} ");
    registry
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(&needle).map(|v| v.parse().unwrap()))
        .unwrap_or(0)
}

#[test]
fn the_right_password_gives_the_role_of_the_users_groups() {
    let Some(slapd) = Slapd::start(Plain::Allowed) else {
        return;
    };
    let registry = Registry::default();
    let directory = LdapDirectory::new(&config(&slapd.url), &registry).unwrap();
    assert_eq!(
        verify(&directory, "alice", &password("alice")).unwrap(),
        ok("alice", Role::Admin)
    );
    assert_eq!(
        verify(&directory, "bob", &password("bob")).unwrap(),
        ok("bob", Role::Editor)
    );
    // In both groups: the higher role.
    assert_eq!(
        verify(&directory, "carol", &password("carol")).unwrap(),
        ok("carol", Role::Admin)
    );
    // uid matches case-insensitively; the name recorded is the directory's.
    assert_eq!(
        verify(&directory, "ALICE", &password("alice")).unwrap(),
        ok("alice", Role::Admin)
    );
    assert_eq!(binds(&registry, "success"), 4);
}

#[test]
fn every_refusal_is_the_same_answer() {
    let Some(slapd) = Slapd::start(Plain::Allowed) else {
        return;
    };
    let registry = Registry::default();
    let directory = LdapDirectory::new(&config(&slapd.url), &registry).unwrap();
    assert!(invalid(verify(&directory, "alice", "not-alices-password")));
    assert!(invalid(verify(&directory, "alice", &password("bob"))));
    assert!(invalid(verify(&directory, "zed", &password("zed"))));
    // Right password, but only in a group no role is mapped to.
    assert!(invalid(verify(&directory, "erin", &password("erin"))));
    // Two entries with one uid: neither may sign in.
    assert!(invalid(verify(&directory, "dup", &password("dup"))));
    // An empty password is an unauthenticated bind, which slapd would
    // accept: refused before it is sent.
    assert!(invalid(verify(&directory, "alice", "")));
    for (result, count) in [
        ("wrong_password", 2),
        ("unknown_user", 1),
        ("no_group", 1),
        ("ambiguous_user", 1),
        ("refused_input", 1),
        ("success", 0),
    ] {
        assert_eq!(binds(&registry, result), count, "{result}");
    }
    let rendered = registry.render();
    assert!(
        rendered.contains("belfry_auth_login_failures_total{reason=\"invalid_credentials\"} 6"),
        "{rendered}"
    );

    // With a default role, a user in no mapped group signs in with it —
    // still only with the right password.
    let lenient = LdapDirectory::new(
        &LdapConfig {
            default_role: Some(RoleName::Viewer),
            ..config(&slapd.url)
        },
        &Registry::default(),
    )
    .unwrap();
    assert_eq!(
        verify(&lenient, "erin", &password("erin")).unwrap(),
        ok("erin", Role::Viewer)
    );
    assert!(invalid(verify(&lenient, "erin", "wrong")));
    assert_eq!(
        verify(&lenient, "bob", &password("bob")).unwrap(),
        ok("bob", Role::Editor)
    );
}

/// What `f` logs, as the server's log lines read (without ANSI colours).
fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = {
        let buffer = buffer.clone();
        move || Capture(buffer.clone())
    };
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(writer)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, || {
        // Tests on other threads may have met these call sites first,
        // while no subscriber wanted them; ask again now that one does.
        tracing::callsite::rebuild_interest_cache();
        f()
    });
    let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    (out, text)
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn outcomes_are_logged_without_passwords() {
    let Some(slapd) = Slapd::start(Plain::Allowed) else {
        return;
    };
    let directory = LdapDirectory::new(&config(&slapd.url), &Registry::default()).unwrap();
    let misconfigured = LdapDirectory::new(
        &LdapConfig {
            bind_password: Secret::new("not-the-search-password"),
            ..config(&slapd.url)
        },
        &Registry::default(),
    )
    .unwrap();
    let (_, log) = logged(|| {
        verify(&directory, "alice", &password("alice")).unwrap();
        verify(&directory, "alice", "guessed-password-1").unwrap_err();
        verify(&directory, "alice)(uid=*", "guessed-password-2").unwrap_err();
        verify(&misconfigured, "bob", &password("bob")).unwrap_err();
    });
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ldap login") && l.contains("user=alice") && l.contains("role=admin")),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ldap login refused") && l.contains("reason=\"wrong_password\"")),
        "{log}"
    );
    // A name that is not a valid one is not written out.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("user=<invalid name>") && l.contains("reason=\"unknown_user\"")),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ldap directory error") && l.contains("step=\"service_bind\"")),
        "{log}"
    );
    for secret in [
        password("alice").as_str(),
        password("bob").as_str(),
        "guessed-password-1",
        "guessed-password-2",
        "not-the-search-password",
        SERVICE_PASSWORD,
        "uid=*",
    ] {
        assert!(!log.contains(secret), "{secret} in {log}");
    }
}

#[test]
fn filter_syntax_in_a_name_matches_nobody() {
    let Some(slapd) = Slapd::start(Plain::Allowed) else {
        return;
    };
    let registry = Registry::default();
    let directory = LdapDirectory::new(&config(&slapd.url), &registry).unwrap();
    // Unescaped, `al*` would find alice alone and her password would sign
    // in; `*` and the others would match every person, or close the
    // filter early and add a match-all.
    let attempts = [
        "al*",
        "*",
        "alice)(uid=*",
        "*)(|(uid=*",
        "alice)(|(objectClass=*)",
        "al\\2a",
    ];
    for name in attempts {
        assert!(invalid(verify(&directory, name, &password("alice"))), "{name}");
    }
    // Each was searched as a literal name and found nobody.
    assert_eq!(binds(&registry, "unknown_user"), attempts.len() as u64);
    assert_eq!(binds(&registry, "success"), 0);
    // The same filter with a plain name still works.
    assert_eq!(
        verify(&directory, "alice", &password("alice")).unwrap(),
        ok("alice", Role::Admin)
    );
}

#[test]
fn the_search_runs_as_the_search_account() {
    let Some(slapd) = Slapd::start(Plain::Allowed) else {
        return;
    };
    // Anonymously, this directory shows nothing, not even the base
    // (slapd answers noSuchObject): a misconfiguration, said as such.
    let registry = Registry::default();
    let anonymous = LdapDirectory::new(
        &LdapConfig {
            bind_dn: None,
            bind_password: Secret::default(),
            ..config(&slapd.url)
        },
        &registry,
    )
    .unwrap();
    let e = verify(&anonymous, "alice", &password("alice")).unwrap_err();
    assert!(
        matches!(&e, AuthError::Directory(m) if m.contains("or an anonymous search (no auth.ldap.bind_dn) may not read it")),
        "{e}"
    );
    assert_eq!(binds(&registry, "success"), 0);
    assert!(
        registry
            .render()
            .contains("belfry_auth_ldap_directory_errors_total{step=\"user_search\"} 1")
    );

    // A wrong search-account password is the directory's problem, named,
    // and neither password shows.
    let registry = Registry::default();
    let misconfigured = LdapDirectory::new(
        &LdapConfig {
            bind_password: Secret::new("not-the-search-password"),
            ..config(&slapd.url)
        },
        &registry,
    )
    .unwrap();
    let e = verify(&misconfigured, "alice", &password("alice")).unwrap_err();
    let message = e.to_string();
    assert!(matches!(e, AuthError::Directory(_)), "{e:?}");
    assert!(
        message.contains("refused auth.ldap.bind_dn") && message.contains("invalidCredentials"),
        "{message}"
    );
    assert!(!message.contains("not-the-search-password") && !message.contains(&password("alice")));
    let rendered = registry.render();
    assert!(
        rendered.contains("belfry_auth_ldap_directory_errors_total{step=\"service_bind\"} 1"),
        "{rendered}"
    );
    assert!(!rendered.contains("not-the-search-password"));

    // A base DN the directory lacks is named too.
    let wrong_base = LdapDirectory::new(
        &LdapConfig {
            user_base_dn: "ou=staff,dc=example,dc=org".to_string(),
            ..config(&slapd.url)
        },
        &Registry::default(),
    )
    .unwrap();
    let e = verify(&wrong_base, "alice", &password("alice")).unwrap_err();
    assert!(
        e.to_string()
            .contains("\"ou=staff,dc=example,dc=org\" does not exist"),
        "{e}"
    );
    // And a group base.
    let wrong_groups = LdapDirectory::new(
        &LdapConfig {
            group_base_dn: Some("ou=teams,dc=example,dc=org".to_string()),
            ..config(&slapd.url)
        },
        &Registry::default(),
    )
    .unwrap();
    let e = verify(&wrong_groups, "alice", &password("alice")).unwrap_err();
    assert!(
        e.to_string()
            .contains("group_base_dn \"ou=teams,dc=example,dc=org\" does not exist"),
        "{e}"
    );
}

#[test]
fn starttls_and_ldaps_with_the_directorys_ca() {
    // This server refuses simple binds without TLS, so a sign-in that
    // works went over TLS.
    let Some(slapd) = Slapd::start(Plain::BindsRefused) else {
        return;
    };
    let starttls = LdapConfig {
        start_tls: true,
        ca_file: Some(slapd.ca_file.clone()),
        ..config(&slapd.url)
    };
    let directory = LdapDirectory::new(&starttls, &Registry::default()).unwrap();
    assert_eq!(
        verify(&directory, "bob", &password("bob")).unwrap(),
        ok("bob", Role::Editor)
    );
    assert!(invalid(verify(&directory, "bob", "wrong")));

    let ldaps = LdapConfig {
        ca_file: Some(slapd.ca_file.clone()),
        ..config(&slapd.ldaps_url)
    };
    let directory = LdapDirectory::new(&ldaps, &Registry::default()).unwrap();
    assert_eq!(
        verify(&directory, "alice", &password("alice")).unwrap(),
        ok("alice", Role::Admin)
    );

    // Without TLS the server refuses the search account's bind.
    let plain = LdapDirectory::new(&config(&slapd.url), &Registry::default()).unwrap();
    let e = verify(&plain, "alice", &password("alice")).unwrap_err();
    assert!(e.to_string().contains("confidentialityRequired"), "{e}");

    // Without the CA file the test CA is not trusted: no sign-in, and the
    // message says why.
    let untrusted = LdapDirectory::new(
        &LdapConfig {
            start_tls: true,
            ..config(&slapd.url)
        },
        &Registry::default(),
    )
    .unwrap();
    let e = verify(&untrusted, "alice", &password("alice")).unwrap_err();
    assert!(
        matches!(&e, AuthError::Directory(m) if m.contains("cannot connect") && m.contains("certificate")),
        "{e}"
    );
}

#[test]
fn a_directory_that_is_down_or_silent_fails_within_the_timeout() {
    // Nothing listens: refused at once.
    let port = crate::support::free_port();
    let registry = Registry::default();
    let down = LdapDirectory::new(&config(&format!("ldap://127.0.0.1:{port}")), &registry).unwrap();
    let e = verify(&down, "alice", &password("alice")).unwrap_err();
    assert!(
        matches!(&e, AuthError::Directory(m) if m.contains(&format!("cannot connect to ldap server ldap://127.0.0.1:{port}"))),
        "{e}"
    );
    assert!(
        registry
            .render()
            .contains("belfry_auth_ldap_directory_errors_total{step=\"connect\"} 1")
    );

    // Accepts connections and never answers: the timeout ends the wait
    // (without it this test would hang).
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ldap://{}", silent.local_addr().unwrap());
    let registry = Registry::default();
    let directory = LdapDirectory::new(
        &LdapConfig {
            timeout: PromDuration(Duration::from_millis(500)),
            ..config(&url)
        },
        &registry,
    )
    .unwrap();
    let e = verify(&directory, "alice", &password("alice")).unwrap_err();
    assert!(
        matches!(&e, AuthError::Directory(m) if m.contains("did not answer within 500ms")),
        "{e}"
    );
    assert!(
        registry
            .render()
            .contains("belfry_auth_ldap_directory_errors_total{step=\"timeout\"} 1")
    );
    drop(silent);
}

#[test]
fn sign_ins_past_max_connections_are_refused_at_once() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ldap://{}", silent.local_addr().unwrap());
    let registry = Registry::default();
    let directory = LdapDirectory::new(
        &LdapConfig {
            max_connections: 1,
            timeout: PromDuration(Duration::from_secs(1)),
            ..config(&url)
        },
        &registry,
    )
    .unwrap();
    let alice = password("alice");
    // The first holds the one connection while the server stays silent;
    // the second, polled after it, finds none free.
    let (first, second) =
        block(async { tokio::join!(directory.verify("alice", &alice), directory.verify("bob", &alice)) });
    assert!(matches!(first, Err(AuthError::Directory(_))), "{first:?}");
    assert!(matches!(second, Err(AuthError::Busy)), "{second:?}");
    assert_eq!(binds(&registry, "busy"), 1);
    drop(silent);
}

/// Through the server: `belfry serve` with `auth.ldap` (which closes a
/// loopback server like a first account), the login route signing a
/// directory user in with the role of their groups, and that role's
/// permissions holding for their session.
#[test]
fn the_login_route_signs_directory_users_in_with_their_groups_role() {
    let Some(slapd) = Slapd::start(Plain::Allowed) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("belfry.yml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs: []\nauth:\n  ldap:\n    url: {url}\n    bind_dn: '{SERVICE_DN}'\n    bind_password: {SERVICE_PASSWORD}\n    user_base_dn: '{PEOPLE_DN}'\n    group_base_dn: '{GROUPS_DN}'\n    groups:\n      '{IT_STAFF_DN}': admin\n      '{TEACHING_SUPPORT_DN}': editor\n",
            url = slapd.url
        ),
    )
    .unwrap();
    let server = crate::support::BelfryServer::start(&dir.path().join("data"), Some(&config));
    let client = crate::support::http_client();
    let login = |user: &str, password: &str| {
        block(async {
            let resp = client
                .post(server.url("/api/belfry/login"))
                .header("content-type", "application/json")
                .body(serde_json::json!({"user": user, "password": password}).to_string())
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let cookie = resp
                .headers()
                .get("set-cookie")
                .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
            let body: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
            (status, cookie, body)
        })
    };
    let (status, _, _) = login("bob", "wrong-password");
    assert_eq!(status, 401);
    let (status, cookie, body) = login("bob", &password("bob"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["role"], "editor");
    let cookie = cookie.unwrap();
    let csrf = body["data"]["csrf_token"].as_str().unwrap().to_string();
    let (me, silence, users) = block(async {
        let me = client
            .get(server.url("/api/belfry/session"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let silence = client
            .post(server.url("/api/v2/silences"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .header("content-type", "application/json")
            .body(
                serde_json::json!({
                    "matchers": [{"name": "alertname", "value": "X", "isRegex": false}],
                    "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
                    "createdBy": "bob", "comment": "from the directory"
                })
                .to_string(),
            )
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        let users = client
            .get(server.url("/api/belfry/users"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        (me, silence, users)
    });
    let me: serde_json::Value = serde_json::from_str(&me).unwrap();
    assert_eq!(
        (me["data"]["user"].as_str(), me["data"]["role"].as_str()),
        (Some("bob"), Some("editor"))
    );
    assert_eq!(silence, 200, "an editor's change");
    assert_eq!(users, 403, "an editor is no admin");
    let (status, _, body) = login("alice", &password("alice"));
    assert_eq!((status, body["data"]["role"].as_str()), (200, Some("admin")));
    // Anonymous callers are refused: the directory closed the server.
    let (status, _) = crate::support::http_get(&server.url("/api/v1/query?query=1")).unwrap();
    assert_eq!(status, 401);
}
