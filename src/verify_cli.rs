//! `belfry verify`: the pre-production checklist run against a running
//! server, over its API — every dashboard query returns data, every rule
//! has evaluated, every target is up, an error event becomes an issue, a
//! log line can be found, and (with `--send-test`) every receiver takes a
//! test notification. One line per check (PASS, FAIL or SKIP and why) or
//! JSON, and an exit code a deployment pipeline gates on: 0 all passed
//! (skips allowed), 1 a check failed, 2 the checks could not run.

mod api;
mod dashboard_queries;
mod dashboards;
mod logs;
mod receivers;
mod report;
mod rules;
mod sentry;
mod targets;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::server_cli::{self, Server};
use api::{Api, CallError};
use report::{CheckOutcome, EXIT_CANNOT_RUN, Report};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckName {
    Dashboards,
    Rules,
    Targets,
    Errors,
    Logs,
    Receivers,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// How the report is written.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// How long to wait for a test event's issue, a test line, the rule
    /// groups' first evaluation and the targets to be up (e.g. 90s, 2m).
    #[arg(long, default_value = "60s")]
    timeout: String,
    /// A DSN to send the test error event to (errors are skipped without one).
    #[arg(long, env = "BELFRY_VERIFY_DSN", hide_env_values = true)]
    dsn: Option<String>,
    /// Send a test notification through every receiver's integrations.
    #[arg(long)]
    send_test: bool,
    /// Check only this dashboard (its uid; repeatable; default every one).
    #[arg(long = "dashboard", value_name = "UID")]
    dashboards: Vec<String>,
    /// Leave a check out (repeatable).
    #[arg(long, value_enum, value_name = "CHECK")]
    skip: Vec<CheckName>,
}

/// Each request's own limit; a check's waiting is `--timeout`.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub fn verify(server: &Server, args: VerifyArgs) -> ExitCode {
    let outcome = server_cli::runtime()
        .map_err(|e| format!("{e:#}"))
        .and_then(|rt| rt.block_on(run(server, &args)));
    match outcome {
        Ok(report) => {
            match args.format {
                Format::Text => print!("{}", report.text()),
                Format::Json => println!("{:#}", report.json()),
            }
            ExitCode::from(report.exit_code())
        }
        Err(why) => {
            if args.format == Format::Json {
                println!("{:#}", json!({"url": server.url, "ok": false, "error": why}));
            }
            eprintln!("belfry verify: cannot run the checks: {why}");
            ExitCode::from(EXIT_CANNOT_RUN)
        }
    }
}

async fn run(server: &Server, args: &VerifyArgs) -> Result<Report, String> {
    let timeout = belfry::model::PromDuration::parse(&args.timeout)
        .map_err(|e| format!("--timeout {:?}: {e}", args.timeout))?
        .as_duration();
    let api = Api::new(server, REQUEST_TIMEOUT).map_err(|e| format!("{e:#}"))?;
    preflight(&api, server).await?;
    // One marker names this run's test event and test line.
    let marker = format!("belfryverify{:016x}", rand::random::<u64>());
    let skipped = |c: CheckName| args.skip.contains(&c);
    let left_out = |name| CheckOutcome::skip(name, "left out by --skip");
    let (d, r, t, e, l, n) = tokio::join!(
        async {
            if skipped(CheckName::Dashboards) {
                left_out(dashboards::NAME)
            } else {
                dashboards::check(&api, &args.dashboards).await
            }
        },
        async {
            if skipped(CheckName::Rules) {
                left_out(rules::NAME)
            } else {
                rules::check(&api, timeout).await
            }
        },
        async {
            if skipped(CheckName::Targets) {
                left_out(targets::NAME)
            } else {
                targets::check(&api, timeout).await
            }
        },
        async {
            if skipped(CheckName::Errors) {
                left_out(sentry::NAME)
            } else {
                sentry::check(&api, args.dsn.as_deref(), &marker, timeout).await
            }
        },
        async {
            if skipped(CheckName::Logs) {
                left_out(logs::NAME)
            } else {
                logs::check(&api, &marker, timeout).await
            }
        },
        async {
            if skipped(CheckName::Receivers) {
                left_out(receivers::NAME)
            } else {
                receivers::check(&api, args.send_test).await
            }
        },
    );
    Ok(Report {
        url: server.url.clone(),
        checks: vec![d, r, t, e, l, n],
    })
}

/// Whether the checks can run at all: the server answers, and takes the
/// token (or needs none).
async fn preflight(api: &Api, server: &Server) -> Result<(), String> {
    match api.get("/api/v1/status/buildinfo", &[]).await {
        Ok(_) => Ok(()),
        Err(e @ CallError::Unreachable { .. }) => Err(e.to_string()),
        Err(e) if e.status() == Some(401) => Err(match server.token {
            Some(_) => format!("the server refused the token: {e}"),
            None => format!("the server needs a token (--token or BELFRY_TOKEN): {e}"),
        }),
        Err(e) if e.status() == Some(403) => Err(format!("the token may not read: {e}")),
        Err(e) => Err(format!("{} does not answer as Belfry: {e}", server.url)),
    }
}
