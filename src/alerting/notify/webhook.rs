//! The webhook integration: POSTs Alertmanager's webhook JSON (version 4)
//! with optional bearer, basic or custom `Authorization`, through the
//! shared outbound client (`crate::http_client`: CA, client certificate,
//! `server_name` as SNI, TLS versions). Credential and URL files are
//! re-read on every send so rotation works.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use serde_json::{Map, Value, json};

use super::setup_error::SetupError;
use super::{Delivered, Notification, Notifier, NotifyError, NotifyFuture};
use crate::alerting::fingerprint::fingerprint_hex;
use crate::config::alerting::WebhookConfig;
use crate::http_client::{ClientSettings, HttpAuth, HttpAuthError, HttpClient, error_chain};
use crate::model::Labels;
use crate::model::{GO_ZERO_TIME, rfc3339};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const USER_AGENT_VALUE: &str = concat!("Belfry/", env!("CARGO_PKG_VERSION"));

enum Target {
    Url(String),
    File(PathBuf),
}

pub struct WebhookNotifier {
    http: HttpClient,
    target: Target,
    auth: HttpAuth,
    send_resolved: bool,
    max_alerts: usize,
    timeout: Duration,
}

impl WebhookNotifier {
    /// Builds the client; TLS files are read here so a bad CA fails the
    /// config load instead of every send.
    pub fn new(cfg: &WebhookConfig) -> Result<WebhookNotifier, SetupError> {
        let h = &cfg.http_config;
        let timeout = cfg.timeout.map_or(DEFAULT_TIMEOUT, |t| t.as_duration());
        let http = HttpClient::new(&ClientSettings {
            tls: &h.tls_config.clone().unwrap_or_default(),
            follow_redirects: h.follow_redirects,
            // The answer's body is not read.
            gzip: false,
            timeout: Some(timeout),
            proxy: h.proxy(),
        })
        .map_err(SetupError::WebhookClient)?;
        let target = match (&cfg.url, &cfg.url_file) {
            (Some(u), _) => Target::Url(u.clone()),
            (None, Some(f)) => Target::File(f.clone()),
            (None, None) => return Err(SetupError::NoUrl),
        };
        let auth = HttpAuth::from_config(
            h.basic_auth.as_ref(),
            h.authorization.as_ref(),
            &h.bearer_token,
            h.bearer_token_file.as_deref(),
        );
        Ok(WebhookNotifier {
            http,
            target,
            auth,
            send_resolved: cfg.send_resolved,
            max_alerts: usize::try_from(cfg.max_alerts).unwrap_or(usize::MAX),
            timeout,
        })
    }

    async fn send(&self, n: &Notification) -> Result<(), NotifyError> {
        let url = match &self.target {
            Target::Url(u) => u.clone(),
            Target::File(f) => read_secret(f).await?,
        };
        let body = serde_json::to_vec(&payload(n, self.max_alerts))
            .map_err(|e| NotifyError::permanent(format!("webhook: cannot encode payload: {e}")))?;
        let req = self
            .http
            .request(Method::POST, &url)
            .await
            .map_err(|e| NotifyError::retryable(format!("webhook {}: {e}", redact(&url))))?
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, USER_AGENT_VALUE)
            .body(body);
        let req = self.auth.apply(req).await.map_err(|e| match e {
            HttpAuthError::ReadFile { .. } => NotifyError::retryable(format!("webhook: {e}")),
            HttpAuthError::InvalidHeader => NotifyError::permanent(format!("webhook: {e}")),
        })?;
        // The message names the URL redacted; reqwest's would be the full
        // one, or the one re-addressed for SNI.
        let resp = req.send().await.map_err(|e| e.without_url()).map_err(|e| {
            if e.is_timeout() {
                NotifyError::retryable(format!(
                    "webhook {}: timed out after {:?}",
                    redact(&url),
                    self.timeout
                ))
            } else {
                NotifyError::retryable(format!("webhook {}: {}", redact(&url), error_chain(&e)))
            }
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let message = format!("webhook {}: unexpected status {status}", redact(&url));
        // As Alertmanager: server errors and throttling may pass, client
        // errors will not.
        if status.is_server_error() || status.as_u16() == 429 {
            Err(NotifyError::retryable(message))
        } else {
            Err(NotifyError::permanent(message))
        }
    }
}

impl Notifier for WebhookNotifier {
    fn integration(&self) -> &'static str {
        "webhook"
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn notify<'a>(&'a self, n: &'a Notification) -> NotifyFuture<'a> {
        Box::pin(async move { self.send(n).await.map(|()| Delivered::default()) })
    }
}

/// Alertmanager's webhook message, version 4.
pub fn payload(n: &Notification, max_alerts: usize) -> Value {
    let limit = if max_alerts == 0 { usize::MAX } else { max_alerts };
    let alerts: Vec<Value> = n
        .alerts
        .iter()
        .take(limit)
        .map(|a| {
            json!({
                "status": if a.resolved { "resolved" } else { "firing" },
                "labels": object(&a.alert.labels),
                "annotations": object(&a.alert.annotations),
                "startsAt": rfc3339(a.alert.starts_at),
                "endsAt": if a.resolved { rfc3339(a.alert.ends_at) } else { GO_ZERO_TIME.to_string() },
                "generatorURL": a.alert.generator_url,
                "fingerprint": fingerprint_hex(a.fingerprint),
            })
        })
        .collect();
    json!({
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": n.alerts.len().saturating_sub(limit),
        "status": n.status(),
        "receiver": n.receiver,
        "groupLabels": object(&n.group_labels),
        "commonLabels": object(&n.common_labels),
        "commonAnnotations": object(&n.common_annotations),
        "externalURL": n.external_url,
        "alerts": alerts,
    })
}

pub(crate) fn object(labels: &Labels) -> Value {
    let mut m = Map::new();
    for l in labels.iter() {
        m.insert(l.name.clone(), Value::String(l.value.clone()));
    }
    Value::Object(m)
}

async fn read_secret(path: &std::path::Path) -> Result<String, NotifyError> {
    crate::http_client::read_secret(path)
        .await
        .map_err(|e| NotifyError::retryable(format!("webhook: {e}")))
}

/// The URL without user info or query, which may carry secrets.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.set_query(None);
            u.to_string()
        }
        Err(_) => "<invalid url>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::notify::tests::notification;

    #[test]
    fn payload_has_alertmanager_shape() {
        let n = notification();
        let p = payload(&n, 0);
        assert_eq!(p["version"], "4");
        assert_eq!(p["status"], "firing");
        assert_eq!(p["receiver"], "team");
        assert_eq!(p["groupLabels"]["alertname"], "HighLatency");
        assert_eq!(p["commonLabels"]["job"], "api");
        assert_eq!(p["commonAnnotations"]["summary"], "p99 above 2s");
        assert_eq!(p["truncatedAlerts"], 0);
        let a = &p["alerts"][0];
        assert_eq!(a["status"], "firing");
        assert_eq!(a["startsAt"], "2023-11-14T22:13:20Z");
        assert_eq!(a["fingerprint"].as_str().unwrap().len(), 16);
    }

    #[test]
    fn max_alerts_truncates() {
        let mut n = notification();
        let second = n.alerts[0].clone();
        n.alerts.push(second);
        let p = payload(&n, 1);
        assert_eq!(p["alerts"].as_array().unwrap().len(), 1);
        assert_eq!(p["truncatedAlerts"], 1);
    }
}
