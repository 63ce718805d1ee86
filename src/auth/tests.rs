//! Users, tokens and the audit log against a real `state.redb`.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::config::{AdminConfig, AuthConfig, LockoutConfig, Secret};
use crate::model::PromDuration;
use crate::selfmetrics::Registry;
use crate::state::{StateStore, tables};

fn config(max_failures: u32) -> AuthConfig {
    AuthConfig {
        lockout: LockoutConfig {
            max_failures,
            duration: PromDuration::from_secs(900),
        },
        ..AuthConfig::default()
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    registry: Arc<Registry>,
    accounts: Accounts,
}

fn open(max_failures: u32) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let registry = Registry::new();
    let accounts = Accounts::open(store, &config(max_failures), &registry).unwrap();
    Fixture {
        dir,
        registry,
        accounts,
    }
}

fn reopen(f: Fixture) -> Fixture {
    let Fixture { dir, accounts, .. } = f;
    accounts.flush().unwrap();
    drop(accounts);
    // The writer thread lets go of the file once its last handle is gone.
    let store = loop {
        match StateStore::open(dir.path()) {
            Ok(s) => break s,
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let registry = Registry::new();
    let accounts = Accounts::open(store, &config(3), &registry).unwrap();
    Fixture {
        dir,
        registry,
        accounts,
    }
}

fn metric(registry: &Registry, line_start: &str) -> Option<String> {
    registry
        .render()
        .lines()
        .find(|l| l.starts_with(line_start))
        .map(|l| l.rsplit(' ').next().unwrap().to_string())
}

#[test]
fn users_verify_right_and_wrong_passwords_and_persist() {
    let f = open(5);
    let users = &f.accounts.users;
    let info = users
        .add(&Actor::cli(), "alice", Role::Editor, "correct horse")
        .unwrap();
    assert_eq!(info.role, Role::Editor);
    assert!(matches!(
        users.add(&Actor::cli(), "alice", Role::Viewer, "another one"),
        Err(AuthError::UserExists(_))
    ));
    let ok = users
        .verify_blocking("alice", "correct horse", "127.0.0.1")
        .unwrap();
    assert_eq!(
        ok,
        Verified {
            name: "alice".into(),
            role: Role::Editor
        }
    );
    assert!(matches!(
        users.verify_blocking("alice", "wrong horse", "127.0.0.1"),
        Err(AuthError::InvalidCredentials)
    ));
    assert!(matches!(
        users.verify_blocking("bob", "correct horse", "127.0.0.1"),
        Err(AuthError::InvalidCredentials)
    ));
    assert_eq!(
        metric(
            &f.registry,
            "belfry_auth_login_failures_total{reason=\"invalid_credentials\"}"
        )
        .as_deref(),
        Some("2")
    );
    assert_eq!(users.get("alice").unwrap().failed_logins, 1);

    let f = reopen(f);
    let users = &f.accounts.users;
    assert_eq!(users.list().len(), 1);
    assert_eq!(users.get("alice").unwrap().failed_logins, 1);
    users.verify_blocking("alice", "correct horse", "::1").unwrap();
    assert_eq!(users.get("alice").unwrap().failed_logins, 0);
}

#[test]
fn the_stored_hash_is_argon2id_and_never_the_password() {
    let f = open(5);
    f.accounts
        .users
        .add(&Actor::cli(), "alice", Role::Admin, "correct horse")
        .unwrap();
    f.accounts.flush().unwrap();
    let rows = f.accounts.raw_rows(tables::AUTH_USERS);
    assert_eq!(rows.len(), 1);
    let text = String::from_utf8(rows[0].1.clone()).unwrap();
    assert!(text.contains("$argon2id$v=19$"), "{text}");
    assert!(!text.contains("correct horse"), "{text}");
}

#[test]
fn lockout_refuses_the_right_password_until_unlocked() {
    let f = open(3);
    let users = &f.accounts.users;
    users
        .add(&Actor::cli(), "alice", Role::Viewer, "correct horse")
        .unwrap();
    for _ in 0..3 {
        assert!(matches!(
            users.verify_blocking("alice", "nope nope", "10.0.0.9"),
            Err(AuthError::InvalidCredentials)
        ));
    }
    match users.verify_blocking("alice", "correct horse", "10.0.0.9") {
        Err(AuthError::Locked { retry_after_secs }) => assert!(retry_after_secs > 800, "{retry_after_secs}"),
        other => panic!("expected a lock, got {other:?}"),
    }
    assert!(users.get("alice").unwrap().locked_until.is_some());
    assert_eq!(
        metric(&f.registry, "belfry_auth_lockouts_total").as_deref(),
        Some("1")
    );
    assert_eq!(
        metric(&f.registry, "belfry_auth_login_failures_total{reason=\"locked\"}").as_deref(),
        Some("1")
    );
    // The lock survives a restart.
    let f = reopen(f);
    let users = &f.accounts.users;
    assert!(matches!(
        users.verify_blocking("alice", "correct horse", "10.0.0.9"),
        Err(AuthError::Locked { .. })
    ));
    users.unlock(&Actor::cli(), "alice").unwrap();
    users
        .verify_blocking("alice", "correct horse", "10.0.0.9")
        .unwrap();
    let actions: Vec<String> = f
        .accounts
        .audit
        .list(None, 10)
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["user.unlock", "user.lockout", "user.add"]);
}

#[test]
fn passwd_replaces_the_password_and_remove_forgets_the_user() {
    let f = open(5);
    let users = &f.accounts.users;
    users
        .add(&Actor::cli(), "alice", Role::Viewer, "correct horse")
        .unwrap();
    users
        .set_password(&Actor::cli(), "alice", "battery staple")
        .unwrap();
    assert!(users.verify_blocking("alice", "correct horse", "x").is_err());
    users.verify_blocking("alice", "battery staple", "x").unwrap();
    assert!(matches!(
        users.set_password(&Actor::cli(), "alice", "short"),
        Err(AuthError::Invalid(m)) if m.contains("too short")
    ));
    assert!(matches!(
        users.set_password(&Actor::cli(), "bob", "battery staple"),
        Err(AuthError::NoSuchUser(_))
    ));
    users.remove(&Actor::cli(), "alice").unwrap();
    assert!(matches!(
        users.remove(&Actor::cli(), "alice"),
        Err(AuthError::NoSuchUser(_))
    ));
    assert!(matches!(
        users.verify_blocking("alice", "battery staple", "x"),
        Err(AuthError::InvalidCredentials)
    ));
    let f = reopen(f);
    assert!(f.accounts.users.list().is_empty());
}

#[test]
fn bad_names_and_passwords_are_refused() {
    let f = open(5);
    let users = &f.accounts.users;
    for name in ["", "a b", "../x", "-r"] {
        assert!(
            matches!(
                users.add(&Actor::cli(), name, Role::Viewer, "correct horse"),
                Err(AuthError::Invalid(_))
            ),
            "{name:?}"
        );
    }
    let long = "x".repeat(crate::config::MAX_PASSWORD_LEN + 1);
    assert!(matches!(
        users.add(&Actor::cli(), "alice", Role::Viewer, &long),
        Err(AuthError::Invalid(m)) if m.contains("too long")
    ));
    assert!(users.list().is_empty());
}

#[test]
fn tokens_are_shown_once_stored_hashed_and_checked() {
    let f = open(5);
    let tokens = &f.accounts.tokens;
    let new = tokens
        .add(
            &Actor::cli(),
            "promtail",
            &[Scope::Ingest, Scope::Read, Scope::Ingest],
            None,
        )
        .unwrap();
    assert!(token_secret::is_well_formed(&new.secret));
    assert_eq!(new.info.scopes, [Scope::Read, Scope::Ingest]);
    let info = tokens.check(&new.secret).unwrap();
    assert_eq!(info.name, "promtail");
    assert!(scopes_allow(&info.scopes, Permission::Ingest));
    assert!(!scopes_allow(&info.scopes, Permission::Write));
    // Nothing lists or stores the secret.
    assert!(!format!("{:?}", tokens.list()).contains(&new.secret));
    f.accounts.flush().unwrap();
    let rows = f.accounts.raw_rows(tables::AUTH_TOKENS);
    let text = String::from_utf8(rows[0].1.clone()).unwrap();
    assert!(!text.contains(&new.secret), "{text}");
    assert!(text.contains(&token_secret::to_hex(&token_secret::digest(&new.secret))));

    assert!(matches!(
        tokens.add(&Actor::cli(), "promtail", &[Scope::Read], None),
        Err(AuthError::TokenExists(_))
    ));
    assert!(matches!(
        tokens.add(&Actor::cli(), "x", &[], None),
        Err(AuthError::Invalid(_))
    ));
    assert!(matches!(
        tokens.check("bfy_short"),
        Err(AuthError::MalformedToken)
    ));
    let forged = format!("bfy_{}", "A".repeat(32));
    assert!(matches!(tokens.check(&forged), Err(AuthError::UnknownToken)));
    assert_eq!(
        metric(
            &f.registry,
            "belfry_auth_token_refusals_total{reason=\"unknown\"}"
        )
        .as_deref(),
        Some("1")
    );

    // Still valid after a restart: the hash was stored, not the secret.
    let f = reopen(f);
    assert_eq!(f.accounts.tokens.check(&new.secret).unwrap().name, "promtail");
}

#[test]
fn expired_tokens_are_refused() {
    let f = open(5);
    let tokens = &f.accounts.tokens;
    let new = tokens
        .add(
            &Actor::cli(),
            "grafana",
            &[Scope::Read],
            Some(Duration::from_secs(3600)),
        )
        .unwrap();
    let expires = new.info.expires.unwrap();
    assert!(tokens.check_at(&new.secret, expires - 1).is_ok());
    assert!(matches!(
        tokens.check_at(&new.secret, expires),
        Err(AuthError::TokenExpired(name)) if name == "grafana"
    ));
    assert!(matches!(
        tokens.add(&Actor::cli(), "zero", &[Scope::Read], Some(Duration::ZERO)),
        Err(AuthError::Invalid(_))
    ));
}

#[test]
fn a_removed_token_is_refused_at_once_and_after_a_restart() {
    let f = open(5);
    let tokens = &f.accounts.tokens;
    let new = tokens.add(&Actor::cli(), "ci", &[Scope::Write], None).unwrap();
    tokens.check(&new.secret).unwrap();
    tokens.remove(&Actor::cli(), "ci").unwrap();
    assert!(matches!(tokens.check(&new.secret), Err(AuthError::UnknownToken)));
    assert!(matches!(
        tokens.remove(&Actor::cli(), "ci"),
        Err(AuthError::NoSuchToken(_))
    ));
    let f = reopen(f);
    assert!(matches!(
        f.accounts.tokens.check(&new.secret),
        Err(AuthError::UnknownToken)
    ));
    assert!(f.accounts.tokens.list().is_empty());
}

#[test]
fn last_use_is_written_at_most_once_a_minute() {
    let f = open(5);
    let tokens = &f.accounts.tokens;
    let new = tokens.add(&Actor::cli(), "ci", &[Scope::Read], None).unwrap();
    let t0 = new.info.created;
    assert_eq!(
        tokens.check_at(&new.secret, t0 + 5).unwrap().last_used,
        Some(t0 + 5)
    );
    // Within the minute: the recorded use stays.
    assert_eq!(
        tokens.check_at(&new.secret, t0 + 30).unwrap().last_used,
        Some(t0 + 5)
    );
    assert_eq!(
        tokens.check_at(&new.secret, t0 + 65).unwrap().last_used,
        Some(t0 + 65)
    );
    let f = reopen(f);
    assert_eq!(f.accounts.tokens.list()[0].last_used, Some(t0 + 65));
}

#[test]
fn the_admin_of_the_configuration_is_created_once() {
    let f = open(5);
    let mut cfg = config(5);
    cfg.admin = Some(AdminConfig {
        user: "root".into(),
        password: Secret::new("from the environment"),
    });
    assert!(f.accounts.is_empty());
    assert!(!f.accounts.has_admin());
    assert!(f.accounts.ensure_admin(&cfg).unwrap());
    assert!(f.accounts.has_admin());
    f.accounts
        .users
        .verify_blocking("root", "from the environment", "local")
        .unwrap();
    // A changed password is kept; the configuration does not reset it.
    f.accounts
        .users
        .set_password(&Actor::cli(), "root", "changed since")
        .unwrap();
    assert!(!f.accounts.ensure_admin(&cfg).unwrap());
    f.accounts
        .users
        .verify_blocking("root", "changed since", "local")
        .unwrap();
    let first = f.accounts.audit.list(None, 10).unwrap().entries.pop().unwrap();
    assert_eq!(
        (first.actor.as_str(), first.action.as_str()),
        ("config", "user.add")
    );
}

#[test]
fn an_admin_token_counts_as_an_admin() {
    let f = open(5);
    f.accounts
        .tokens
        .add(&Actor::cli(), "bootstrap", &[Scope::Admin], None)
        .unwrap();
    assert!(!f.accounts.is_empty());
    assert!(f.accounts.has_admin());
}

#[test]
fn sessions_are_stored_hashed_survive_a_restart_and_end_at_logout() {
    let f = open(3);
    f.accounts
        .users
        .add(&Actor::cli(), "ann", Role::Editor, "a long password")
        .unwrap();
    let s = f.accounts.sessions.create("ann", "10.0.0.1", "password").unwrap();
    assert!(token_secret::is_well_formed_session(&s.secret));
    assert_eq!(s.csrf_token, token_secret::csrf_token(&s.secret));
    let user = f.accounts.sessions.check(&s.secret).unwrap();
    assert_eq!((user.name.as_str(), user.directory_role), ("ann", None));
    let rows = f.accounts.raw_rows(tables::AUTH_SESSIONS);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, token_secret::to_hex(&token_secret::digest(&s.secret)));
    assert!(!String::from_utf8_lossy(&rows[0].1).contains(&s.secret));

    let f = reopen(f);
    assert_eq!(f.accounts.sessions.check(&s.secret).unwrap().name, "ann");
    f.accounts
        .sessions
        .revoke(&Actor::new("ann", "10.0.0.1"), &s.secret)
        .unwrap();
    assert!(matches!(
        f.accounts.sessions.check(&s.secret),
        Err(AuthError::NoSession)
    ));
    let page = f.accounts.audit.list(None, 10).unwrap();
    let actions: Vec<_> = page.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(&actions[..2], ["session.logout", "session.login"]);
    let f = reopen(f);
    assert!(f.accounts.sessions.check(&s.secret).is_err());
    assert!(f.accounts.raw_rows(tables::AUTH_SESSIONS).is_empty());
}

#[test]
fn sessions_expire_when_idle_and_at_their_absolute_end() {
    let f = open(3);
    let s = f.accounts.sessions.create("ann", "local", "password").unwrap();
    let now = unix_now();
    // Default idle timeout 8h, absolute 7d; used an hour later it lives on.
    assert!(f.accounts.sessions.check_at(&s.secret, now + 3600).is_ok());
    assert!(
        f.accounts
            .sessions
            .check_at(&s.secret, now + 3600 + 8 * 3600 - 1)
            .is_ok()
    );
    assert!(
        f.accounts
            .sessions
            .check_at(&s.secret, now + 3600 + 16 * 3600)
            .is_err()
    );
    // An expired session is gone, not merely refused.
    assert!(f.accounts.sessions.is_empty());

    let s = f.accounts.sessions.create("ann", "local", "password").unwrap();
    let mut t = now + 4 * 3600;
    while t < now + 7 * 86_400 - 60 {
        assert!(f.accounts.sessions.check_at(&s.secret, t).is_ok(), "busy at {t}");
        t += 4 * 3600;
    }
    assert!(
        f.accounts
            .sessions
            .check_at(&s.secret, now + 7 * 86_400 + 5)
            .is_err()
    );
}

#[test]
fn a_new_password_or_removal_ends_a_users_sessions_and_tokens() {
    let f = open(3);
    let cli = Actor::cli();
    f.accounts
        .users
        .add(&cli, "ann", Role::Admin, "a long password")
        .unwrap();
    let a = f.accounts.sessions.create("ann", "local", "password").unwrap();
    let b = f.accounts.sessions.create("bob", "local", "ldap").unwrap();
    f.accounts
        .set_password(&cli, "ann", "another long password")
        .unwrap();
    assert!(f.accounts.sessions.check(&a.secret).is_err());
    assert!(f.accounts.sessions.check(&b.secret).is_ok());

    let owned = f
        .accounts
        .tokens
        .add_owned(&cli, "anns", &[Scope::Read], None, Some("ann"))
        .unwrap();
    let own = f
        .accounts
        .tokens
        .add(&cli, "cli-made", &[Scope::Read], None)
        .unwrap();
    let a = f.accounts.sessions.create("ann", "local", "password").unwrap();
    f.accounts.remove_user(&cli, "ann").unwrap();
    assert!(f.accounts.sessions.check(&a.secret).is_err());
    assert!(f.accounts.tokens.check(&owned.secret).is_err());
    assert!(f.accounts.tokens.check(&own.secret).is_ok());
}

#[test]
fn sessions_are_bounded_and_directory_users_keep_their_role() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let registry = Registry::new();
    let mut cfg = config(3);
    cfg.session.max_sessions = 2;
    let accounts = Accounts::open(store, &cfg, &registry).unwrap();
    let first = accounts
        .sessions
        .create_for_directory_user("dora", Role::Editor, "local", "ldap")
        .unwrap();
    let second = accounts.sessions.create("ann", "local", "password").unwrap();
    // Used later than the second: the second is the least recently used.
    let user = accounts
        .sessions
        .check_at(&first.secret, unix_now() + 120)
        .unwrap();
    assert_eq!(user.directory_role, Some(Role::Editor));
    let _third = accounts.sessions.create("ann", "local", "password").unwrap();
    assert_eq!(accounts.sessions.len(), 2);
    assert!(
        accounts.sessions.check(&second.secret).is_err(),
        "the least recently used ended"
    );
    assert!(
        accounts
            .sessions
            .check_at(&first.secret, unix_now() + 120)
            .is_ok()
    );
    assert_eq!(
        metric(&registry, "belfry_auth_sessions_evicted_total").as_deref(),
        Some("1")
    );
}

#[test]
fn the_internal_token_is_no_account() {
    let f = open(3);
    let secret = f
        .accounts
        .tokens
        .add_internal("belfry-self-scrape", &[Scope::Admin]);
    assert!(
        f.accounts.is_empty(),
        "an internal token does not close a laptop's server"
    );
    assert!(!f.accounts.has_admin(), "nor opens a public listen");
    assert!(f.accounts.tokens.list().is_empty());
    assert_eq!(f.accounts.tokens.check(&secret).unwrap().scopes, [Scope::Admin]);
    assert!(f.accounts.raw_rows(tables::AUTH_TOKENS).is_empty());
}

#[test]
fn accounts_open_the_ldap_directory_of_the_configuration() {
    use crate::config::{LdapConfig, RoleName};
    let ldap = LdapConfig {
        default_role: Some(RoleName::Viewer),
        ..LdapConfig::new("ldap://127.0.0.1:3890", "ou=people,dc=example,dc=org")
    };
    let with_ldap = AuthConfig {
        ldap: Some(ldap.clone()),
        ..config(5)
    };
    let dir = tempfile::tempdir().unwrap();
    let accounts = Accounts::open(
        StateStore::open(dir.path()).unwrap(),
        &with_ldap,
        &Registry::new(),
    )
    .unwrap();
    assert!(accounts.ldap.is_some());
    assert!(open(5).accounts.ldap.is_none());

    // A CA file that cannot be read refuses the start, naming the file.
    let missing_ca = AuthConfig {
        ldap: Some(LdapConfig {
            start_tls: true,
            ca_file: Some(dir.path().join("no-such-ca.pem")),
            ..ldap
        }),
        ..config(5)
    };
    let other = tempfile::tempdir().unwrap();
    let e = Accounts::open(
        StateStore::open(other.path()).unwrap(),
        &missing_ca,
        &Registry::new(),
    )
    .err()
    .unwrap();
    assert!(
        matches!(&e, AuthError::Directory(m) if m.contains("auth.ldap") && m.contains("no-such-ca.pem")),
        "{e}"
    );
}
