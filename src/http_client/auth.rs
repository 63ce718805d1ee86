//! Credentials for outgoing HTTP requests (scrapes, webhooks): basic auth or
//! an `Authorization` header. Secrets given as files are re-read on every
//! request, as Prometheus and Alertmanager do, so a rotated token takes
//! effect without a reload.

use std::path::{Path, PathBuf};

use reqwest::RequestBuilder;
use reqwest::header::{AUTHORIZATION, HeaderValue};

use super::error::HttpAuthError;
use crate::config::{Authorization, BasicAuth, Secret};

pub enum HttpAuth {
    None,
    Basic {
        username: String,
        password: Secret,
        password_file: Option<PathBuf>,
    },
    /// `Authorization: <kind> <credentials>`, e.g. `Bearer <token>`.
    Header {
        kind: String,
        credentials: Secret,
        credentials_file: Option<PathBuf>,
    },
}

impl HttpAuth {
    /// The credentials of an HTTP client configuration: `basic_auth`, else
    /// `authorization`, else the legacy `bearer_token` / `bearer_token_file`.
    pub fn from_config(
        basic_auth: Option<&BasicAuth>,
        authorization: Option<&Authorization>,
        bearer_token: &Secret,
        bearer_token_file: Option<&Path>,
    ) -> HttpAuth {
        if let Some(b) = basic_auth {
            HttpAuth::Basic {
                username: b.username.clone(),
                password: b.password.clone(),
                password_file: b.password_file.clone(),
            }
        } else if let Some(a) = authorization {
            HttpAuth::Header {
                kind: a.kind.clone(),
                credentials: a.credentials.clone(),
                credentials_file: a.credentials_file.clone(),
            }
        } else if !bearer_token.is_empty() || bearer_token_file.is_some() {
            HttpAuth::Header {
                kind: "Bearer".into(),
                credentials: bearer_token.clone(),
                credentials_file: bearer_token_file.map(Path::to_path_buf),
            }
        } else {
            HttpAuth::None
        }
    }

    /// Adds the credentials to `req`.
    pub async fn apply(&self, req: RequestBuilder) -> Result<RequestBuilder, HttpAuthError> {
        match self {
            HttpAuth::None => Ok(req),
            HttpAuth::Basic {
                username,
                password,
                password_file,
            } => {
                let password = match password_file {
                    Some(f) => read_secret(f).await?,
                    None => password.expose().to_string(),
                };
                Ok(req.basic_auth(username, Some(password)))
            }
            HttpAuth::Header {
                kind,
                credentials,
                credentials_file,
            } => {
                let token = match credentials_file {
                    Some(f) => read_secret(f).await?,
                    None => credentials.expose().to_string(),
                };
                let mut value = HeaderValue::from_str(&format!("{kind} {token}"))
                    .map_err(|_| HttpAuthError::InvalidHeader)?;
                // Keeps the token out of debug output and HTTP/2 header tables.
                value.set_sensitive(true);
                Ok(req.header(AUTHORIZATION, value))
            }
        }
    }
}

/// A secret file's content without surrounding whitespace (files usually
/// end with a newline that is not part of the secret).
pub async fn read_secret(path: &Path) -> Result<String, HttpAuthError> {
    tokio::fs::read_to_string(path)
        .await
        .map(|s| s.trim().to_string())
        .map_err(|source| HttpAuthError::ReadFile {
            path: path.to_path_buf(),
            source,
        })
}
