//! The provider as discovery describes it, with its signing keys. Read
//! when first needed rather than at start (the provider may be down
//! while Belfry starts; local users still sign in), kept for an hour, and
//! the keys read again early when a token names a key the set lacks (the
//! provider rotated them), at most once every ten seconds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::error::OidcError;
use super::fetch;
use super::jws::{Jwk, JwkSet};
use crate::http_client::HttpClient;

const REFRESH_AFTER: Duration = Duration::from_secs(3600);
const MIN_KEY_REFETCH: Duration = Duration::from_secs(10);

/// What Belfry uses of the discovery document.
#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

impl Metadata {
    /// `client_secret_basic` is the default (RFC 6749 and OIDC Discovery
    /// when the list is absent); `client_secret_post` only where the
    /// provider offers that and not basic.
    pub fn secret_in_body(&self) -> bool {
        self.token_endpoint_auth_methods_supported
            .as_ref()
            .is_some_and(|m| {
                !m.iter().any(|x| x == "client_secret_basic") && m.iter().any(|x| x == "client_secret_post")
            })
    }
}

struct Cached {
    metadata: Arc<Metadata>,
    keys: Arc<Vec<Jwk>>,
    fetched: Instant,
    keys_fetched: Instant,
}

pub struct Provider {
    issuer: String,
    http: HttpClient,
    cache: tokio::sync::Mutex<Option<Cached>>,
}

fn discovery(m: String) -> OidcError {
    OidcError::Discovery(m)
}

impl Provider {
    pub fn new(issuer: String, http: HttpClient) -> Self {
        Provider {
            issuer,
            http,
            cache: tokio::sync::Mutex::new(None),
        }
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The discovery document and the keys, from the cache while fresh.
    pub async fn current(&self) -> Result<(Arc<Metadata>, Arc<Vec<Jwk>>), OidcError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref()
            && c.fetched.elapsed() < REFRESH_AFTER
        {
            return Ok((c.metadata.clone(), c.keys.clone()));
        }
        let metadata = Arc::new(self.fetch_metadata().await?);
        let keys = Arc::new(self.fetch_keys(&metadata).await?);
        let now = Instant::now();
        *cache = Some(Cached {
            metadata: metadata.clone(),
            keys: keys.clone(),
            fetched: now,
            keys_fetched: now,
        });
        Ok((metadata, keys))
    }

    /// The keys read again, unless they were read moments ago; None when
    /// they were (the caller's key is then really unknown).
    pub async fn refetch_keys(&self) -> Result<Option<Arc<Vec<Jwk>>>, OidcError> {
        let mut cache = self.cache.lock().await;
        let Some(c) = cache.as_mut() else {
            return Ok(None);
        };
        if c.keys_fetched.elapsed() < MIN_KEY_REFETCH {
            return Ok(None);
        }
        c.keys = Arc::new(self.fetch_keys(&c.metadata).await?);
        c.keys_fetched = Instant::now();
        Ok(Some(c.keys.clone()))
    }

    async fn fetch_metadata(&self) -> Result<Metadata, OidcError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let request = self
            .http
            .request(reqwest::Method::GET, &url)
            .await
            .map_err(|e| discovery(e.to_string()))?;
        let (status, value) = fetch::json(request, &url).await.map_err(discovery)?;
        if status != 200 {
            return Err(discovery(format!("{url} answered HTTP {status}")));
        }
        let metadata: Metadata = serde_json::from_value(value)
            .map_err(|e| discovery(format!("{url} is not a discovery document: {e}")))?;
        // OpenID Connect Discovery §4.3: the document must be the issuer's
        // own, or tokens from another issuer could pass.
        if metadata.issuer != self.issuer {
            return Err(discovery(format!(
                "{url} names issuer {:?}, not {:?} (auth.oidc.issuer must be the provider's issuer exactly)",
                metadata.issuer, self.issuer
            )));
        }
        Ok(metadata)
    }

    async fn fetch_keys(&self, metadata: &Metadata) -> Result<Vec<Jwk>, OidcError> {
        let url = &metadata.jwks_uri;
        let request = self
            .http
            .request(reqwest::Method::GET, url)
            .await
            .map_err(|e| discovery(e.to_string()))?;
        let (status, value) = fetch::json(request, url).await.map_err(discovery)?;
        if status != 200 {
            return Err(discovery(format!("{url} answered HTTP {status}")));
        }
        let set: JwkSet =
            serde_json::from_value(value).map_err(|e| discovery(format!("{url} is not a JWK set: {e}")))?;
        Ok(set.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(methods: Option<&[&str]>) -> Metadata {
        let mut doc = serde_json::json!({
            "issuer": "https://idp.example.edu",
            "authorization_endpoint": "https://idp.example.edu/auth",
            "token_endpoint": "https://idp.example.edu/token",
            "jwks_uri": "https://idp.example.edu/jwks",
        });
        if let Some(m) = methods {
            doc["token_endpoint_auth_methods_supported"] = serde_json::json!(m);
        }
        serde_json::from_value(doc).unwrap()
    }

    #[test]
    fn the_secret_goes_in_the_body_only_where_basic_is_not_offered() {
        assert!(!metadata(None).secret_in_body());
        assert!(!metadata(Some(&["client_secret_basic", "client_secret_post"])).secret_in_body());
        assert!(metadata(Some(&["client_secret_post", "private_key_jwt"])).secret_in_body());
        assert!(!metadata(Some(&["private_key_jwt"])).secret_in_body());
    }
}
