//! Belfry's integration tests: one binary, one module per area.

mod config;
mod ingest;
mod promql_conformance;
mod scrape;
mod support;
mod textparse;
