//! Belfry: one binary that scrapes, stores and serves metrics (and, as it
//! grows, rules, alerts, logs and errors) for a small LMS deployment.
//!
//! `ARCHITECTURE.md` at the repository root is the map of these modules.

pub mod alerting;
pub mod config;
pub mod exposition;
pub mod http_auth;
pub mod ingest;
pub mod model;
pub mod promql;
pub mod rules;
pub mod scrape;
pub mod selfmetrics;
pub mod state;
pub mod template;
pub mod tsdb;
pub mod web;

/// Makes `ring` the process-wide rustls crypto provider (reqwest is built
/// without a provider of its own). Safe to call more than once.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod dependencies_test;
