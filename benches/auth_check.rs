//! What an API token check adds to a request: the format check, SHA-256
//! of the 36-byte secret and the lookup among the tokens held in memory,
//! with 50 tokens stored (more than a small institution makes). Also the
//! refusal of an unknown token, which costs the same hash and lookup.
//! Then what the access layer does per request, `web::access::identify`:
//! reading the headers and checking a token sent as Bearer or as Basic,
//! or a session cookie (hash, lookup, the user's current role). The
//! issue's budget is 5 µs per request.
//!
//! `cargo bench --profile measure --bench auth_check -- --quick`

use std::hint::black_box;
use std::time::Duration;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use base64::Engine;
use belfry::auth::{Accounts, Actor, Role, Scope};
use belfry::config::AuthConfig;
use belfry::selfmetrics::Registry;
use belfry::state::StateStore;
use belfry::web::AccessControl;
use belfry::web::access::identify;
use criterion::{Criterion, criterion_group, criterion_main};

fn token_check(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let accounts = Accounts::open(store, &AuthConfig::default(), &Registry::new()).unwrap();
    let mut secrets = Vec::new();
    for i in 0..50 {
        let new = accounts
            .tokens
            .add(
                &Actor::cli(),
                &format!("token-{i}"),
                &[Scope::Read, Scope::Ingest],
                Some(Duration::from_secs(86_400)),
            )
            .unwrap();
        secrets.push(new.secret);
    }
    let unknown = format!("bfy_{}", "Q".repeat(32));
    let mut group = c.benchmark_group("auth_token_check");
    group.bench_function("valid", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % secrets.len();
            black_box(accounts.tokens.check(black_box(&secrets[i])).is_ok())
        })
    });
    group.bench_function("unknown", |b| {
        b.iter(|| black_box(accounts.tokens.check(black_box(&unknown)).is_err()))
    });
    group.finish();
}

fn request_identify(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let accounts = Arc::new(Accounts::open(store, &AuthConfig::default(), &Registry::new()).unwrap());
    let mut token = String::new();
    for i in 0..50 {
        token = accounts
            .tokens
            .add(&Actor::cli(), &format!("token-{i}"), &[Scope::Read], None)
            .unwrap()
            .secret;
    }
    accounts
        .users
        .add(&Actor::cli(), "ann", Role::Editor, "a long password")
        .unwrap();
    let session = accounts.sessions.create("ann", "127.0.0.1", "password").unwrap();
    let control = AccessControl::new(accounts, false, "127.0.0.1:9900".parse().unwrap(), false);
    let request = |name: &str, value: String| {
        Request::builder()
            .uri("/api/v1/query_range")
            .header(name, value)
            .header("user-agent", "Grafana/11.3.0")
            .header("accept", "application/json")
            .body(Body::empty())
            .unwrap()
    };
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("grafana:{token}"));
    let cases = [
        ("bearer", request("authorization", format!("Bearer {token}"))),
        ("basic", request("authorization", format!("Basic {basic}"))),
        (
            "session",
            request("cookie", format!("theme=dark; belfry_session={}", session.secret)),
        ),
    ];
    let mut group = c.benchmark_group("auth_identify");
    for (name, req) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| black_box(identify(&control, black_box(req)).is_ok()))
        });
    }
    group.finish();
}

criterion_group!(benches, token_check, request_identify);
criterion_main!(benches);
