//! What an API token check adds to a request: the format check, SHA-256
//! of the 36-byte secret and the lookup among the tokens held in memory,
//! with 50 tokens stored (more than a small institution makes). Also the
//! refusal of an unknown token, which costs the same hash and lookup.
//! The budget is 5 µs per request.
//!
//! `cargo bench --profile measure --bench auth_check -- --quick`

use std::hint::black_box;
use std::time::Duration;

use belfry::auth::{Accounts, Actor, Scope};
use belfry::config::AuthConfig;
use belfry::selfmetrics::Registry;
use belfry::state::StateStore;
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

criterion_group!(benches, token_check);
criterion_main!(benches);
