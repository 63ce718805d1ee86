//! The requests the checks make: the token on each, JSON answers, and an
//! error that says which URL answered what, for a check's report line.

use std::time::Duration;

use serde_json::Value;

use crate::server_cli::Server;

/// A request that did not give the check what it asked for.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server answered with an error status; `message` is its own
    /// `error` text when it gave one.
    #[error("{url}: {status}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url}: the answer is not JSON: {reason}")]
    NotJson { url: String, reason: String },
}

impl CallError {
    pub fn status(&self) -> Option<u16> {
        match self {
            CallError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The running server, for the checks.
pub struct Api {
    server: Server,
    client: reqwest::Client,
}

impl Api {
    /// `timeout` bounds each request, not a check's polling.
    pub fn new(server: &Server, timeout: Duration) -> anyhow::Result<Api> {
        Ok(Api {
            server: server.clone(),
            client: server.client(timeout)?,
        })
    }

    pub fn url_of(&self, path: &str) -> String {
        self.server.url_of(path)
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `GET path?query`: the whole JSON answer.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, CallError> {
        let mut url = self.url_of(path);
        if !query.is_empty() {
            url.push('?');
            url.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(query)
                    .finish(),
            );
        }
        self.send(self.client.get(url)).await
    }

    /// Sends `request` (built on [`Api::client`]) with the token: the whole
    /// JSON answer of a 2xx.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, CallError> {
        let request = match &self.server.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        let (client, request) = request.build_split();
        let request = request.map_err(|e| CallError::Unreachable {
            url: self.server.url.clone(),
            reason: e.to_string(),
        })?;
        let url = request.url().as_str().to_string();
        // A query in the URL would repeat the culprit's text the report
        // already shows; the path names the API.
        let shown = url.split('?').next().unwrap_or(&url).to_string();
        let response = client
            .execute(request)
            .await
            .map_err(|e| CallError::Unreachable {
                url: shown.clone(),
                reason: error_chain(&e),
            })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or_else(|| text.trim().chars().take(300).collect());
            return Err(CallError::Status {
                url: shown,
                status: status.as_u16(),
                message,
            });
        }
        serde_json::from_str(&text).map_err(|e| CallError::NotJson {
            url: shown,
            reason: e.to_string(),
        })
    }
}

/// An error with its causes (reqwest's own text is only "error sending
/// request"; the cause says "connection refused").
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
