//! One remote's HTTP side: a batch encoded as remote write 1.0 (protobuf,
//! one snappy block) and POSTed through `http_client` with Prometheus's
//! headers, retried with exponential backoff while the failure is
//! recoverable (network errors, 5xx, and 429 when `retry_on_http_429`),
//! dropped on any other answer.

use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{
    CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER, USER_AGENT,
};
use tokio_util::sync::CancellationToken;

use super::RemoteError;
use super::watcher::QueuedSample;
use crate::config::RemoteWriteConfig;
use crate::http_client::{ClientSettings, HttpAuth, HttpClient, error_chain};
use crate::prompb;

const USER_AGENT_VALUE: &str = concat!("Belfry/", env!("CARGO_PKG_VERSION"));
const REMOTE_WRITE_VERSION: &str = "0.1.0";
/// How much of a refusal's body is kept for the log.
const MAX_ERROR_BODY: usize = 512;

/// How a send ended.
#[derive(Debug, PartialEq, Eq)]
pub enum SendResult {
    Accepted,
    /// An answer that retrying cannot change; the batch is dropped.
    Refused {
        status: u16,
        message: String,
    },
    /// Stopped (shutdown or reload) before the batch was accepted.
    Cancelled,
}

/// One failed attempt.
enum Attempt {
    Recoverable {
        why: String,
        retry_after: Option<Duration>,
    },
    Refused {
        status: u16,
        message: String,
    },
}

pub struct Sender {
    client: HttpClient,
    auth: HttpAuth,
    url: String,
    headers: HeaderMap,
    min_backoff: Duration,
    max_backoff: Duration,
    retry_on_429: bool,
    name: String,
}

impl Sender {
    pub fn new(cfg: &RemoteWriteConfig) -> Result<Sender, RemoteError> {
        let timeout = cfg.remote_timeout.as_duration();
        let client = HttpClient::new(&ClientSettings {
            tls: &cfg.tls_config,
            follow_redirects: cfg.follow_redirects,
            gzip: false,
            timeout: (!timeout.is_zero()).then_some(timeout),
            proxy: cfg.proxy(),
        })
        .map_err(|source| RemoteError::Client {
            name: cfg.name.clone(),
            source,
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-protobuf"));
        headers.insert(
            HeaderName::from_static("x-prometheus-remote-write-version"),
            HeaderValue::from_static(REMOTE_WRITE_VERSION),
        );
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        for (name, value) in &cfg.headers {
            let invalid = || RemoteError::Header {
                name: cfg.name.clone(),
                header: name.clone(),
            };
            let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
            let v = HeaderValue::from_str(value).map_err(|_| invalid())?;
            headers.insert(n, v);
        }
        let q = &cfg.queue_config;
        Ok(Sender {
            client,
            auth: HttpAuth::from_config(
                cfg.basic_auth.as_ref(),
                cfg.authorization.as_ref(),
                &cfg.bearer_token,
                cfg.bearer_token_file.as_deref(),
            ),
            url: cfg.url.clone(),
            headers,
            min_backoff: q.min_backoff.as_duration(),
            max_backoff: q.max_backoff.as_duration(),
            retry_on_429: q.retry_on_http_429,
            name: cfg.name.clone(),
        })
    }

    /// Sends `body` until it is accepted, refused, or `cancel` fires;
    /// `on_retry` runs before each retry.
    pub async fn send(
        &self,
        body: Bytes,
        cancel: &CancellationToken,
        mut on_retry: impl FnMut(),
    ) -> SendResult {
        let mut backoff = self.min_backoff;
        loop {
            let attempt = tokio::select! {
                _ = cancel.cancelled() => return SendResult::Cancelled,
                a = self.attempt(body.clone()) => a,
            };
            let (why, retry_after) = match attempt {
                Ok(()) => return SendResult::Accepted,
                Err(Attempt::Refused { status, message }) => {
                    tracing::error!(remote = %self.name, url = %self.url, status, %message, "remote storage refused a batch; dropping it");
                    return SendResult::Refused { status, message };
                }
                Err(Attempt::Recoverable { why, retry_after }) => (why, retry_after),
            };
            let wait = retry_after.unwrap_or(backoff).min(self.max_backoff);
            tracing::warn!(remote = %self.name, url = %self.url, error = %why, retry_in = ?wait, "remote write failed; retrying");
            on_retry();
            tokio::select! {
                _ = cancel.cancelled() => return SendResult::Cancelled,
                _ = tokio::time::sleep(wait) => {}
            }
            backoff = (backoff * 2).min(self.max_backoff);
        }
    }

    async fn attempt(&self, body: Bytes) -> Result<(), Attempt> {
        let recoverable = |why: String| Attempt::Recoverable {
            why,
            retry_after: None,
        };
        let req = self
            .client
            .request(Method::POST, &self.url)
            .await
            .map_err(|e| recoverable(e.to_string()))?
            .headers(self.headers.clone())
            .body(body);
        let req = self
            .auth
            .apply(req)
            .await
            .map_err(|e| recoverable(e.to_string()))?;
        let resp = req.send().await.map_err(|e| recoverable(error_chain(&e)))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut message = resp.text().await.unwrap_or_default();
        message.truncate(floor_char_boundary(&message, MAX_ERROR_BODY));
        let message = format!("server returned HTTP status {status}: {}", message.trim());
        if status.is_server_error() || (status.as_u16() == 429 && self.retry_on_429) {
            return Err(Attempt::Recoverable {
                why: message,
                retry_after,
            });
        }
        Err(Attempt::Refused {
            status: status.as_u16(),
            message,
        })
    }
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    (0..=max).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0)
}

/// A batch as one request body: the samples of each series grouped into
/// one `TimeSeries` (in their order), protobuf-encoded, snappy-compressed.
pub fn encode_batch(samples: &[QueuedSample]) -> Result<Bytes, snap::Error> {
    let mut index: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    let mut timeseries: Vec<prompb::TimeSeries> = Vec::new();
    for s in samples {
        let i = *index.entry(s.series_ref).or_insert_with(|| {
            timeseries.push(prompb::TimeSeries {
                labels: s.labels.to_vec(),
                ..Default::default()
            });
            timeseries.len() - 1
        });
        timeseries[i].samples.push(prompb::Sample {
            value: s.v,
            timestamp: s.t,
        });
    }
    let req = prompb::WriteRequest {
        timeseries,
        metadata: Vec::new(),
    };
    prompb::encode_snappy(&req).map(Bytes::from)
}
