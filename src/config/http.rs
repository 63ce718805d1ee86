//! The HTTP client settings of a scrape job (Prometheus's inlined
//! `HTTPClientConfig` subset): authentication and TLS.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::secret::Secret;
use super::validation_error::ValidationError;

#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    #[serde(default)]
    pub password: Secret,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The scheme word of the `Authorization` header; `Bearer` when unset.
    #[serde(rename = "type", default = "default_auth_type")]
    pub kind: String,
    #[serde(default)]
    pub credentials: Secret,
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
}

fn default_auth_type() -> String {
    "Bearer".to_string()
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    #[serde(default)]
    pub server_name: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Lowest TLS version offered; `None` is Prometheus's default, TLS 1.2.
    #[serde(default, deserialize_with = "min_version")]
    pub min_version: Option<TlsVersion>,
    /// Highest TLS version offered; `None` means the newest (TLS 1.3).
    #[serde(default, deserialize_with = "max_version")]
    pub max_version: Option<TlsVersion>,
}

/// A TLS protocol version a scrape may use. Prometheus also takes `TLS10`
/// and `TLS11`; Belfry's TLS library implements only 1.2 and 1.3, so those
/// are refused at load rather than failing every scrape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

impl TlsVersion {
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLS12",
            TlsVersion::Tls13 => "TLS13",
        }
    }

    fn parse(key: &'static str, text: &str) -> Result<TlsVersion, ValidationError> {
        match text {
            "TLS12" => Ok(TlsVersion::Tls12),
            "TLS13" => Ok(TlsVersion::Tls13),
            "TLS10" | "TLS11" => Err(ValidationError::UnsupportedTlsVersion {
                key,
                version: text.to_string(),
            }),
            _ => Err(ValidationError::UnknownTlsVersion {
                key,
                version: text.to_string(),
            }),
        }
    }
}

impl serde::Serialize for TlsVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Reads an optional TLS version; the error is raised while the value is
/// read, so it is reported at the value's line and column.
fn tls_version<'de, D: serde::Deserializer<'de>>(
    d: D,
    key: &'static str,
) -> Result<Option<TlsVersion>, D::Error> {
    struct VersionVisitor(&'static str);

    impl<'de> serde::de::Visitor<'de> for VersionVisitor {
        type Value = Option<TlsVersion>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a TLS version (TLS12 or TLS13)")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D2: serde::Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_str(self)
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            if text.is_empty() {
                return Ok(None);
            }
            TlsVersion::parse(self.0, text).map(Some).map_err(E::custom)
        }
    }

    d.deserialize_option(VersionVisitor(key))
}

fn min_version<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<TlsVersion>, D::Error> {
    tls_version(d, "min_version")
}

fn max_version<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<TlsVersion>, D::Error> {
    tls_version(d, "max_version")
}

impl BasicAuth {
    pub(super) fn validate(&self) -> Result<(), ValidationError> {
        if !self.password.is_empty() && self.password_file.is_some() {
            return Err(ValidationError::PasswordTwice);
        }
        Ok(())
    }
}

impl Authorization {
    pub(super) fn validate(&self) -> Result<(), ValidationError> {
        if self.kind.eq_ignore_ascii_case("basic") {
            return Err(ValidationError::BasicAuthorizationType);
        }
        if !self.credentials.is_empty() && self.credentials_file.is_some() {
            return Err(ValidationError::CredentialsTwice);
        }
        Ok(())
    }
}

impl TlsConfig {
    pub(super) fn validate(&self) -> Result<(), ValidationError> {
        if let (Some(min), Some(max)) = (self.min_version, self.max_version)
            && min > max
        {
            return Err(ValidationError::TlsVersionOrder {
                min: min.name(),
                max: max.name(),
            });
        }
        match (&self.cert_file, &self.key_file) {
            (Some(c), None) => Err(ValidationError::CertWithoutKey(c.display().to_string())),
            (None, Some(k)) => Err(ValidationError::KeyWithoutCert(k.display().to_string())),
            _ => Ok(()),
        }
    }
}

/// Makes a relative path relative to the config file's directory, as
/// Prometheus does, so a config works from any working directory.
pub(super) fn resolve(dir: &Path, p: &mut Option<PathBuf>) {
    if let Some(path) = p
        && path.is_relative()
        && !path.as_os_str().is_empty()
    {
        *path = dir.join(&*path);
    }
}

/// A client's credential fields, borrowed from whichever section holds
/// them (a scrape job, a remote write entry), so both check them alike.
pub(super) struct ClientAuthFields<'a> {
    pub basic_auth: &'a Option<BasicAuth>,
    pub authorization: &'a mut Option<Authorization>,
    pub bearer_token: &'a mut Secret,
    pub bearer_token_file: &'a mut Option<PathBuf>,
    pub tls_config: &'a TlsConfig,
}

impl ClientAuthFields<'_> {
    /// Refuses conflicting credentials as Prometheus does, then turns the
    /// legacy bearer fields into an `authorization`, as Prometheus does,
    /// so every later step sees one form.
    pub(super) fn validate_and_normalize(self) -> Result<(), ValidationError> {
        let bearer = !self.bearer_token.is_empty() || self.bearer_token_file.is_some();
        if !self.bearer_token.is_empty() && self.bearer_token_file.is_some() {
            return Err(ValidationError::BearerTokenTwice);
        }
        if self.basic_auth.is_some() && (bearer || self.authorization.is_some()) {
            return Err(ValidationError::AuthMethods);
        }
        if self.authorization.is_some() && bearer {
            return Err(ValidationError::AuthorizationWithBearer);
        }
        if let Some(b) = self.basic_auth {
            b.validate()?;
        }
        if let Some(a) = self.authorization.as_ref() {
            a.validate()?;
        }
        self.tls_config.validate()?;
        if bearer {
            *self.authorization = Some(Authorization {
                kind: "Bearer".into(),
                credentials: std::mem::take(self.bearer_token),
                credentials_file: self.bearer_token_file.take(),
            });
        }
        Ok(())
    }
}
