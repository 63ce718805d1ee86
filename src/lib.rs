//! Belfry: one binary that scrapes, stores and serves metrics (and, as it
//! grows, rules, alerts, logs and errors) for a small LMS deployment.
//!
//! `ARCHITECTURE.md` at the repository root is the map of these modules.

pub mod alerting;
pub mod auth;
pub mod backup;
pub mod config;
pub mod dashboards;
pub mod demo;
pub mod errors;
pub mod exposition;
pub mod http_client;
pub mod ingest;
pub mod logins;
pub mod logql;
pub mod logs;
pub mod model;
pub mod online_copy;
pub mod privacy;
pub mod prompb;
pub mod promql;
pub mod relabel;
pub mod remote;
pub mod reports;
pub mod rules;
pub mod runbooks;
pub mod scrape;
pub mod selfmetrics;
pub mod state;
pub mod template;
pub mod tsdb;
pub mod web;

// The binary, benches and tests install the provider at start-up.
pub use http_client::install_crypto_provider;

#[cfg(test)]
mod dependencies_test;
#[cfg(test)]
mod layers_test;
