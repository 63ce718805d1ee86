//! What every command that drives a running server shares (`belfry flood`,
//! and the others that work over the API): the `--url` and `--token`
//! flags, and one call that sends a request and unwraps the APIs'
//! `{"status", "data", "error"}` answer. The server holds the state these
//! commands change, so they never open the data directory themselves.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::Value;

#[derive(Args, Clone)]
pub struct Server {
    /// The server's URL.
    #[arg(long, default_value = "http://localhost:9900", global = true)]
    pub url: String,
    /// An API token (sent as a Bearer token).
    #[arg(long, env = "BELFRY_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
}

impl Server {
    /// `path` under the server's URL (`path` starts with `/`).
    pub fn url_of(&self, path: &str) -> String {
        format!("{}{path}", self.url.trim_end_matches('/'))
    }

    /// A client for this server's API: rustls with ring, a timeout long
    /// enough for a slow query but not for a hung server.
    pub fn client(&self, timeout: Duration) -> Result<reqwest::Client> {
        belfry::http_client::install_crypto_provider();
        reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .context("cannot build the HTTP client")
    }

    /// Sends `request` (built on [`Server::client`]) with the token, and
    /// returns the answer's `data`, or an error naming the URL, the status
    /// and the server's own `error` text.
    pub async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value> {
        let response = self.send(request).await?;
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(body["data"].clone())
    }

    /// Sends `request` with the token and returns a successful answer
    /// unread (for answers that are not JSON, such as a backup's archive),
    /// or an error as [`Server::call`] words it.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let request = match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        let (client, request) = request.build_split();
        let request = request.context("cannot build the request")?;
        let url = request.url().to_string();
        let response = client
            .execute(request)
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let why = body["error"].as_str().map_or(text.as_str(), |e| e);
            bail!("{url}: {status}: {why}");
        }
        Ok(response)
    }
}

/// A runtime for one command's calls: these commands run a few requests
/// and exit, so one thread is enough.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")
}
