//! A string that never prints: passwords and tokens from the config.
//! `Debug` and serde's `Serialize` both write `<secret>` (as Alertmanager
//! and Prometheus do when they show their configuration), so a config
//! printed on an API or in a log cannot leak one; `redact` and
//! `redact_url` do the same for fields kept as plain strings (webhook URLs,
//! proxy URLs with a password).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a secret is shown as.
pub const REDACTED: &str = "<secret>";

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Secret(Option::<String>::deserialize(d)?.unwrap_or_default()))
    }
}

/// An unset secret is shown as unset, so the output still tells whether
/// one is configured.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return s.serialize_none();
        }
        s.serialize_str(REDACTED)
    }
}

/// `serialize_with` for an optional string that is a secret as a whole
/// (a webhook or chat URL carries its token in the path).
pub fn redact<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) if !v.is_empty() => s.serialize_str(REDACTED),
        _ => s.serialize_none(),
    }
}

/// `serialize_with` for an optional URL whose password alone is secret
/// (`http://user:password@proxy:3128`).
pub fn redact_url<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    let Some(text) = value else {
        return s.serialize_none();
    };
    match reqwest::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            if url.set_password(Some(REDACTED)).is_err() {
                return s.serialize_str(REDACTED);
            }
            // The URL type percent-encodes the marker; shown as written.
            s.serialize_str(&url.as_str().replacen("%3Csecret%3E", REDACTED, 1))
        }
        Ok(_) => s.serialize_str(text),
        // Unparsable text may hold anything; it was refused at load anyway.
        Err(_) => s.serialize_str(REDACTED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Shown {
        password: Secret,
        unset: Secret,
        #[serde(serialize_with = "redact")]
        url: Option<String>,
        #[serde(serialize_with = "redact_url")]
        proxy_url: Option<String>,
        #[serde(serialize_with = "redact_url")]
        plain_proxy: Option<String>,
    }

    #[test]
    fn secrets_serialize_redacted() {
        let shown = Shown {
            password: Secret::new("hunter2"),
            unset: Secret::default(),
            url: Some("https://hooks.example/T0KEN".into()),
            proxy_url: Some("http://user:pa55@proxy:3128/".into()),
            plain_proxy: Some("http://proxy:3128/".into()),
        };
        let yaml = serde_norway::to_string(&shown).unwrap();
        assert_eq!(
            yaml,
            "password: <secret>\nunset: null\nurl: <secret>\nproxy_url: http://user:<secret>@proxy:3128/\nplain_proxy: http://proxy:3128/\n"
        );
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "<secret>");
    }
}
