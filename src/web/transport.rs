//! What the HTTP layer knows of its listener: whether it serves HTTPS
//! (`server.tls`), which the session cookie's `Secure` attribute follows,
//! and the `Strict-Transport-Security` header every response then carries.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::STRICT_TRANSPORT_SECURITY;
use axum::middleware::Next;
use axum::response::Response;

use crate::config::ServerTlsConfig;

#[derive(Clone, Debug, Default)]
pub struct Transport {
    tls: bool,
    hsts: Option<HeaderValue>,
}

impl Transport {
    /// Plain HTTP: no HSTS (a browser ignores it over HTTP anyway).
    pub fn plain() -> Transport {
        Transport::default()
    }

    /// As `server.tls` says: `None` is plain HTTP.
    pub fn from_config(tls: Option<&ServerTlsConfig>) -> Transport {
        let Some(tls) = tls else {
            return Transport::plain();
        };
        Transport {
            tls: true,
            // Digits and ASCII only, so always a valid header value.
            hsts: tls
                .hsts_max_age_secs()
                .and_then(|secs| HeaderValue::try_from(format!("max-age={secs}")).ok()),
        }
    }

    /// True when the listener serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The `Strict-Transport-Security` value sent, if any.
    pub fn hsts(&self) -> Option<&HeaderValue> {
        self.hsts.as_ref()
    }
}

/// Adds `value` as `Strict-Transport-Security` to a response (the router
/// installs this layer only when HSTS is on).
pub(super) async fn add_hsts(value: HeaderValue, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    resp.headers_mut().insert(STRICT_TRANSPORT_SECURITY, value);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PromDuration;

    #[test]
    fn hsts_follows_the_configuration() {
        assert!(!Transport::plain().is_tls());
        assert!(Transport::plain().hsts().is_none());
        let mut config = ServerTlsConfig {
            cert_file: "c.pem".into(),
            key_file: "k.pem".into(),
            hsts_max_age: PromDuration::from_secs(crate::config::DEFAULT_HSTS_MAX_AGE_SECS),
        };
        let on = Transport::from_config(Some(&config));
        assert!(on.is_tls());
        assert_eq!(on.hsts().unwrap(), "max-age=31536000");
        config.hsts_max_age = PromDuration::ZERO;
        let off = Transport::from_config(Some(&config));
        assert!(off.is_tls() && off.hsts().is_none());
    }
}
