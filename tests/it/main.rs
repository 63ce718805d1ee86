//! Belfry's integration tests: one binary, one module per area.

mod alerting;
mod cli;
mod cli_env;
mod config;
mod e2e_node_exporter;
mod e2e_remote_write;
mod ingest;
mod lms_example_config;
mod lms_fastapi;
mod lms_postgres;
mod promql_conformance;
mod promql_differential;
mod proxy;
mod query_api;
mod read_api;
mod rules;
mod scrape;
mod scrape_client;
mod support;
mod textparse;
mod tsdb_compat;
mod webhook_tls;
