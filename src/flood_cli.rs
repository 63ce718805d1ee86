//! `belfry flood on|off|status`: alert flood mode on a running server,
//! over its API (`/api/belfry/flood`), since the server holds the state
//! and its effects. The token is an API token with the `write` scope (or
//! `read` for `status`), from `--token` or `BELFRY_TOKEN`.

use std::time::Duration;

use anyhow::Result;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::server_cli::{self, Server};

#[derive(Subcommand)]
pub enum FloodCommand {
    /// Turn flood mode on (or replace the end, reason and overrides of
    /// flood mode already on).
    On {
        /// How long, e.g. 2h (at most the configuration's max_duration).
        #[arg(long = "for", conflicts_with = "until", required_unless_present = "until")]
        duration: Option<String>,
        /// The end, as an RFC 3339 time.
        #[arg(long)]
        until: Option<String>,
        /// Why, for the banner and the audit log.
        #[arg(long, default_value = "")]
        reason: String,
        /// A configured override to turn on (repeatable).
        #[arg(long = "override")]
        overrides: Vec<String>,
    },
    /// Turn flood mode off before its end.
    Off,
    /// Show whether flood mode is on, until when, and why.
    Status,
}

pub fn flood(server: &Server, what: FloodCommand) -> Result<()> {
    let answer = server_cli::runtime()?.block_on(call(server, what))?;
    print!("{}", describe(&answer));
    Ok(())
}

async fn call(server: &Server, what: FloodCommand) -> Result<Value> {
    let client = server.client(Duration::from_secs(30))?;
    let url = server.url_of("/api/belfry/flood");
    let request = match what {
        FloodCommand::On {
            duration,
            until,
            reason,
            overrides,
        } => {
            let body =
                json!({"duration": duration, "until": until, "reason": reason, "overrides": overrides});
            client
                .post(&url)
                .header("Content-Type", "application/json")
                .body(body.to_string())
        }
        FloodCommand::Off => client.delete(&url),
        FloodCommand::Status => client.get(&url),
    };
    server.call(request).await
}

/// The state in a few lines.
fn describe(data: &Value) -> String {
    let Some(current) = data["current"].as_object() else {
        return "alert flood mode is off\n".to_string();
    };
    let text = |k: &str| current.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let overrides: Vec<&str> = current
        .get("overrides")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    format!(
        "alert flood mode is on until {}\n  started: {} by {}\n  reason: {}\n  critical alerts also go to: {}\n  overrides: {}\n  silence: {}\n",
        text("endsAt"),
        text("startsAt"),
        text("createdBy"),
        text("reason"),
        data["secondaryReceiver"].as_str().unwrap_or(""),
        if overrides.is_empty() {
            "none".to_string()
        } else {
            overrides.join(", ")
        },
        text("silenceId"),
    )
}
