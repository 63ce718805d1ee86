//! An integration's endpoint, given inline or in a file (`api_url` /
//! `api_url_file`, `webhook_url` / `webhook_url_file`): at most one of the
//! two, and an inline one must be an http(s) URL. Slack, Discord and Teams
//! put their token in the URL, so these checks never print its value.

use std::path::PathBuf;

use super::error::AlertingConfigError;
use crate::config::Secret;

/// An inline URL must parse and be http or https.
pub(super) fn check_url(key: &'static str, url: &str) -> Result<(), AlertingConfigError> {
    let parsed = reqwest::Url::parse(url).map_err(|source| AlertingConfigError::SecretUrl { key, source })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(AlertingConfigError::SecretNotHttp(key));
    }
    Ok(())
}

/// Exactly one of an inline URL and a file holding it.
pub(super) fn url_or_file(
    (url_key, url): (&'static str, &Secret),
    (file_key, file): (&'static str, &Option<PathBuf>),
) -> Result<(), AlertingConfigError> {
    match (url.is_empty(), file.is_some()) {
        (false, true) => Err(AlertingConfigError::Twice(url_key, file_key)),
        (true, false) => Err(AlertingConfigError::NoneOf(url_key, file_key)),
        (false, false) => check_url(url_key, url.expose()),
        (true, true) => Ok(()),
    }
}

/// A secret given inline and in a file at once is refused.
pub(super) fn not_both(
    (key, value): (&'static str, &Secret),
    (file_key, file): (&'static str, &Option<PathBuf>),
) -> Result<(), AlertingConfigError> {
    if !value.is_empty() && file.is_some() {
        return Err(AlertingConfigError::Twice(key, file_key));
    }
    Ok(())
}

/// Alertmanager's way of naming a default text: the named template.
pub(super) fn template(name: &str) -> String {
    format!("{{{{ template \"{name}\" . }}}}")
}
