//! Belfry's integration tests: one binary, one module per area.

mod alerting;
mod chat_receivers;
mod cli;
mod cli_env;
mod config;
mod e2e_node_exporter;
mod e2e_remote_write;
mod exemplars;
mod ingest;
mod promql_conformance;
mod promql_differential;
mod proxy;
mod query_api;
mod read_api;
mod remote_write_out;
mod rules;
mod scrape;
mod scrape_client;
mod status_api;
mod support;
mod textparse;
mod tsdb_compat;
mod web_guard;
mod webhook_tls;
