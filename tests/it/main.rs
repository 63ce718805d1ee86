//! Belfry's integration tests: one binary, one module per area.

mod config;
mod support;
mod textparse;
