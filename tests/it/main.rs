//! Belfry's integration tests: one binary, one module per area.

mod config;
mod ingest;
mod scrape;
mod support;
mod textparse;
