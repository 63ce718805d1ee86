//! `belfry user …` and `belfry token …` as an operator runs them: the
//! password on standard input, the token's secret printed once, the data
//! directory holding neither, and a clear refusal while a server holds
//! the state file.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use belfry::auth::{Accounts, AuthError, Role};
use belfry::config::AuthConfig;
use belfry::selfmetrics::Registry;
use belfry::state::StateStore;

use crate::support::{BelfryServer, grep_dir};

fn belfry(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_belfry"))
        .env_remove("BELFRY_CONFIG")
        .env_remove("BELFRY_LISTEN")
        .env_remove("BELFRY_DATA_DIR")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command refused by its arguments may exit before reading.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn refused(out: Output) -> String {
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).unwrap()
}

/// The accounts of a data directory no process holds any more.
fn with_accounts<T>(dir: &Path, f: impl FnOnce(&Accounts) -> T) -> T {
    let store = StateStore::open(dir).unwrap();
    let accounts = Accounts::open(store, &AuthConfig::default(), &Registry::new()).unwrap();
    let out = f(&accounts);
    accounts.flush().unwrap();
    out
}

/// Waits for this process's state writer to let go of the file.
fn released(dir: &Path) {
    for _ in 0..200 {
        if StateStore::open(dir).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the state store stayed open");
}

#[test]
fn users_and_tokens_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();

    let out = ok(belfry(
        data,
        &["user", "add", "alice", "--role", "editor"],
        "correct horse battery\n",
    ));
    assert!(
        out.is_empty(),
        "the password prompt and report go to stderr: {out}"
    );
    let err = refused(belfry(data, &["user", "add", "alice"], "another password\n"));
    assert!(err.contains("user \"alice\" already exists"), "{err}");
    let err = refused(belfry(data, &["user", "add", "bob"], ""));
    assert!(err.contains("no password on standard input"), "{err}");
    let err = refused(belfry(data, &["user", "add", "bob"], "short\n"));
    assert!(err.contains("password is too short"), "{err}");
    let err = refused(belfry(
        data,
        &["user", "add", "bob", "--role", "root"],
        "long enough\n",
    ));
    assert!(err.contains("invalid value 'root'"), "{err}");
    ok(belfry(data, &["user", "add", "bob"], "bobs password\r\n"));
    ok(belfry(
        data,
        &["user", "passwd", "alice"],
        "battery staple horse\n",
    ));
    let err = refused(belfry(
        data,
        &["user", "passwd", "carol"],
        "battery staple horse\n",
    ));
    assert!(err.contains("no user named \"carol\""), "{err}");

    let list = ok(belfry(data, &["user", "list"], ""));
    let rows: Vec<Vec<&str>> = list
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{list}");
    assert_eq!(&rows[0][..2], ["alice", "editor"]);
    assert_eq!(&rows[1][..2], ["bob", "viewer"]);

    let secret = ok(belfry(
        data,
        &[
            "token",
            "add",
            "promtail",
            "--scope",
            "ingest",
            "--scope",
            "read",
            "--expires",
            "90d",
        ],
        "",
    ));
    let secret = secret.trim().to_string();
    assert!(belfry::auth::token_secret::is_well_formed(&secret), "{secret}");
    let err = refused(belfry(data, &["token", "add", "nothing"], ""));
    assert!(err.contains("--scope"), "{err}");
    let err = refused(belfry(
        data,
        &["token", "add", "x", "--scope", "read", "--expires", "soon"],
        "",
    ));
    assert!(err.contains("not a duration"), "{err}");
    let tokens = ok(belfry(data, &["token", "list"], ""));
    assert!(tokens.contains("promtail"), "{tokens}");
    assert!(tokens.contains("read,ingest"), "{tokens}");
    assert!(!tokens.contains(&secret), "{tokens}");

    // Neither the passwords nor the secret are anywhere in the data
    // directory; the hashes are.
    let found = grep_dir(
        data,
        &[
            "correct horse battery",
            "battery staple horse",
            "bobs password",
            &secret,
        ],
    );
    assert!(found.is_empty(), "{found:?}");
    let digest = belfry::auth::token_secret::to_hex(&belfry::auth::token_secret::digest(&secret));
    assert_eq!(grep_dir(data, &[&digest]).len(), 1);
    assert!(!grep_dir(data, &["$argon2id$v=19$"]).is_empty());

    // What the command line stored is what a login and a request check.
    with_accounts(data, |a| {
        let v = a
            .users
            .verify_blocking("alice", "battery staple horse", "test")
            .unwrap();
        assert_eq!(v.role, Role::Editor);
        assert!(matches!(
            a.users.verify_blocking("alice", "correct horse battery", "test"),
            Err(AuthError::InvalidCredentials)
        ));
        assert_eq!(a.tokens.check(&secret).unwrap().name, "promtail");
        // Lock bob out for the unlock below.
        for _ in 0..5 {
            let _ = a.users.verify_blocking("bob", "wrong password", "test");
        }
        assert!(matches!(
            a.users.verify_blocking("bob", "bobs password", "test"),
            Err(AuthError::Locked { .. })
        ));
    });
    released(data);
    let list = ok(belfry(data, &["user", "list"], ""));
    assert!(
        list.lines()
            .any(|l| l.starts_with("bob ") && l.contains("locked until")),
        "{list}"
    );
    ok(belfry(data, &["user", "unlock", "bob"], ""));
    let list = ok(belfry(data, &["user", "list"], ""));
    assert!(!list.contains("locked"), "{list}");

    ok(belfry(data, &["token", "remove", "promtail"], ""));
    let err = refused(belfry(data, &["token", "remove", "promtail"], ""));
    assert!(err.contains("no API token named \"promtail\""), "{err}");
    ok(belfry(data, &["user", "remove", "bob"], ""));
    with_accounts(data, |a| {
        assert!(matches!(a.tokens.check(&secret), Err(AuthError::UnknownToken)));
        assert!(a.users.get("bob").is_none());
        assert!(a.users.verify_blocking("bob", "bobs password", "test").is_err());
        let actions: Vec<String> = a
            .audit
            .list(None, 100)
            .unwrap()
            .entries
            .into_iter()
            .map(|e| format!("{} {} {}", e.actor, e.action, e.target))
            .collect();
        assert_eq!(
            actions[..4],
            [
                "cli user.remove bob",
                "cli token.remove promtail",
                "cli user.unlock bob",
                "bob user.lockout bob"
            ]
        );
        assert!(actions.contains(&"cli user.add alice".to_string()), "{actions:?}");
    });
}

#[test]
fn the_first_admin_comes_from_the_environment_and_a_running_server_holds_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("belfry.yml");
    std::fs::write(
        &config,
        "auth:\n  admin:\n    user: root\n    password: ${BELFRY_TEST_ADMIN_PASSWORD}\n",
    )
    .unwrap();
    let server = BelfryServer::start_with_env(
        &data,
        Some(&config),
        &[("BELFRY_TEST_ADMIN_PASSWORD", "admin from env")],
    );
    let err = refused(belfry(&data, &["user", "list"], ""));
    assert!(err.contains("a running belfry holds it: stop it first"), "{err}");
    server.stop();
    let list = ok(belfry(&data, &["user", "list"], ""));
    assert!(
        list.lines()
            .any(|l| l.starts_with("root ") && l.contains("admin")),
        "{list}"
    );
    assert!(grep_dir(&data, &["admin from env"]).is_empty());
    with_accounts(&data, |a| {
        a.users.verify_blocking("root", "admin from env", "test").unwrap();
    });
}
