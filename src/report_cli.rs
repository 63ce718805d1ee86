//! `belfry report send NAME` and `belfry report list`: the SEV-3 reports
//! of a running server, over its API (`/api/belfry/reports`), since the
//! server holds the data the reports read and the receivers they go
//! through. The token is an API token with the `write` scope (`read` for
//! `list`), from `--token` or `BELFRY_TOKEN`.

use std::time::Duration;

use anyhow::Result;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::server_cli::{self, Server};

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Build a report over one period of its schedule up to now and mail
    /// it (daily, weekly or monthly).
    Send {
        name: String,
        /// A receiver of alerting.receivers instead of the configured one.
        #[arg(long)]
        receiver: Option<String>,
    },
    /// The reports with their schedules, receivers and last sends.
    List,
}

pub fn report(server: &Server, what: ReportCommand) -> Result<()> {
    let out = server_cli::runtime()?.block_on(call(server, &what))?;
    print!(
        "{}",
        match what {
            ReportCommand::Send { .. } => describe_send(&out),
            ReportCommand::List => describe_list(&out),
        }
    );
    Ok(())
}

async fn call(server: &Server, what: &ReportCommand) -> Result<Value> {
    // Building a month's report reads a month of data.
    let client = server.client(Duration::from_secs(300))?;
    let request = match what {
        ReportCommand::Send { name, receiver } => client
            .post(server.url_of(&format!("/api/belfry/reports/{}/send", encode(name))))
            .header("Content-Type", "application/json")
            .body(json!({ "receiver": receiver }).to_string()),
        ReportCommand::List => client.get(server.url_of("/api/belfry/reports")),
    };
    server.call(request).await
}

/// A report name in a path: anything but letters, digits, `-` and `_`
/// percent-encoded, so a typo is refused by name rather than misrouted.
fn encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

fn describe_send(data: &Value) -> String {
    let mut out = format!(
        "sent {} report to {}: {}\n",
        text(data, "report"),
        text(data, "receiver"),
        text(data, "subject")
    );
    for d in data["deliveries"].as_array().into_iter().flatten() {
        match d["error"].as_str() {
            None => out.push_str(&format!(
                "  delivered: {} {}\n",
                text(d, "integration"),
                text(d, "destination")
            )),
            Some(e) => out.push_str(&format!(
                "  failed: {} {}: {e}\n",
                text(d, "integration"),
                text(d, "destination")
            )),
        }
    }
    for s in data["skipped"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  skipped: {} (reports go out by e-mail)\n",
            s.as_str().unwrap_or_default()
        ));
    }
    let failed: Vec<&str> = data["failedSections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !failed.is_empty() {
        out.push_str(&format!("  sections marked failed: {}\n", failed.join(", ")));
    }
    out
}

fn time(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "—".into())
}

fn describe_list(data: &Value) -> String {
    let mut out = String::new();
    for r in data.as_array().into_iter().flatten() {
        let receiver = r["receiver"].as_str().unwrap_or("none");
        let state = if r["enabled"].as_bool().unwrap_or(false) {
            "on"
        } else {
            "off"
        };
        out.push_str(&format!(
            "{:<8} {state:<3} {} → {receiver}\n         next: {}  last sent: {}{}\n",
            text(r, "name"),
            text(r, "schedule"),
            time(r["nextDueMs"].as_i64()),
            time(r["lastSentMs"].as_i64()),
            r["lastError"]
                .as_str()
                .map(|e| format!("\n         last attempt failed: {e}"))
                .unwrap_or_default(),
        ));
    }
    out
}
