//! `auth.oidc`: single sign-on with an OpenID Provider (the university's
//! Keycloak, Entra ID, Shibboleth's OIDC plugin…). Belfry is a
//! confidential client using the authorization code flow with PKCE; the
//! person's role comes from one claim of the ID token, mapped through
//! `roles`. The machinery is `crate::auth::oidc`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::http::TlsConfig;
use super::secret::Secret;

/// The roles a claim value may map to; the same words as `belfry user add
/// --role` (the `Role` type itself lives above the configuration).
pub const OIDC_ROLE_NAMES: [&str; 3] = ["viewer", "editor", "admin"];

/// Where the provider sends the browser back, below Belfry's own URL.
pub const OIDC_CALLBACK_PATH: &str = "/login/oidc/callback";

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer URL, exactly as its ID tokens' `iss` says it;
    /// discovery reads `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// Usually `${VAR}`, so the secret stays out of the file.
    pub client_secret: Secret,
    /// The provider's name on the login page's "Sign in with …" link.
    #[serde(default = "default_display_name")]
    pub display_name: String,
    /// Scopes asked for; `openid` must be among them.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The claim that names the person in Belfry (sessions, the audit
    /// log). No fallback to `sub`: an opaque identifier in the audit log
    /// says nothing, so a token without this claim is refused.
    #[serde(default = "default_username_claim")]
    pub username_claim: String,
    /// The claim the role is read from: a string or an array of strings
    /// (`groups`, `roles`, `belfry_role`, …).
    pub role_claim: String,
    /// Claim value → `viewer`, `editor` or `admin`; of several matching
    /// values, the highest role wins.
    #[serde(default)]
    pub roles: BTreeMap<String, String>,
    /// The role of a person none of whose claim values is in `roles`;
    /// absent, such a person is refused.
    #[serde(default)]
    pub default_role: Option<String>,
    /// The callback URL registered at the provider; default
    /// `server.external_url` + `/login/oidc/callback`.
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// How Belfry reaches the provider (an internal CA, for instance).
    #[serde(default)]
    pub tls_config: TlsConfig,
}

fn default_display_name() -> String {
    "single sign-on".to_string()
}
fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email"].map(String::from).to_vec()
}
fn default_username_claim() -> String {
    "preferred_username".to_string()
}

fn http_url(key: &str, text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("oidc.{key}: {text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "oidc.{key}: {text:?} must be an http:// or https:// URL with a host"
        ));
    }
    Ok(url)
}

impl OidcConfig {
    pub fn validate(&self) -> Result<(), String> {
        let issuer = http_url("issuer", &self.issuer)?;
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err("oidc.issuer: an issuer URL has no query or fragment".to_string());
        }
        if self.client_id.is_empty() {
            return Err("oidc.client_id is empty".to_string());
        }
        if self.client_secret.is_empty() {
            return Err(
                "oidc.client_secret is empty (set it from the environment, e.g. client_secret: ${BELFRY_OIDC_SECRET})"
                    .to_string(),
            );
        }
        if !self.scopes.iter().any(|s| s == "openid") {
            return Err("oidc.scopes must include openid".to_string());
        }
        if let Some(s) = self
            .scopes
            .iter()
            .find(|s| s.is_empty() || s.contains([' ', '"', '\\']))
        {
            return Err(format!("oidc.scopes: {s:?} is not a scope"));
        }
        if self.username_claim.is_empty() {
            return Err("oidc.username_claim is empty".to_string());
        }
        if self.role_claim.is_empty() {
            return Err("oidc.role_claim is empty".to_string());
        }
        for (value, role) in &self.roles {
            if !OIDC_ROLE_NAMES.contains(&role.as_str()) {
                return Err(format!(
                    "oidc.roles.{value}: {role:?} is not a role (viewer, editor or admin)"
                ));
            }
        }
        if let Some(role) = &self.default_role
            && !OIDC_ROLE_NAMES.contains(&role.as_str())
        {
            return Err(format!(
                "oidc.default_role: {role:?} is not a role (viewer, editor or admin)"
            ));
        }
        if self.roles.is_empty() && self.default_role.is_none() {
            return Err(
                "oidc.roles is empty and there is no oidc.default_role: nobody could sign in".to_string(),
            );
        }
        if let Some(url) = &self.redirect_url {
            http_url("redirect_url", url)?;
        }
        if self.display_name.is_empty() || self.display_name.len() > 64 {
            return Err("oidc.display_name must be 1–64 bytes".to_string());
        }
        Ok(())
    }

    /// The callback URL: `redirect_url`, else below `external_url`.
    pub fn callback_url(&self, external_url: Option<&str>) -> Result<String, String> {
        if let Some(url) = &self.redirect_url {
            return Ok(url.clone());
        }
        match external_url {
            Some(base) => Ok(format!("{}{OIDC_CALLBACK_PATH}", base.trim_end_matches('/'))),
            None => Err(
                "auth.oidc.redirect_url: needed when server.external_url is not set (the provider must know where to send the browser back)"
                    .to_string(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    fn parse(yaml: &str) -> Result<crate::config::Config, String> {
        crate::config::Config::from_yaml_with_env(yaml, "c.yml", |name| match name {
            "OIDC_SECRET" => Some("s3cret-oidc-client".to_string()),
            _ => None,
        })
        .map_err(|e| e.to_string())
    }

    const BASE: &str = "auth:\n  oidc:\n    issuer: https://idp.example.edu/realms/staff\n    client_id: belfry\n    client_secret: ${OIDC_SECRET}\n    role_claim: groups\n";

    #[test]
    fn defaults() {
        let c = parse(&format!("{BASE}    roles: {{it-staff: admin}}\n")).unwrap();
        let o = c.auth.oidc.unwrap();
        assert_eq!(o.scopes, ["openid", "profile", "email"]);
        assert_eq!(o.username_claim, "preferred_username");
        assert_eq!(o.display_name, "single sign-on");
        assert_eq!(o.roles["it-staff"], "admin");
        assert_eq!(o.default_role, None);
        assert_eq!(o.client_secret.expose(), "s3cret-oidc-client");
        assert_eq!(
            o.callback_url(Some("https://belfry.example.edu/")).unwrap(),
            "https://belfry.example.edu/login/oidc/callback"
        );
        let e = o.callback_url(None).unwrap_err();
        assert!(e.contains("auth.oidc.redirect_url"), "{e}");
        assert!(!format!("{o:?}").contains("s3cret-oidc-client"));
    }

    #[test]
    fn refusals_name_the_key() {
        let cases = [
            (
                "    roles: {x: root}\n",
                "auth: oidc.roles.x: \"root\" is not a role",
            ),
            ("    default_role: boss\n", "auth: oidc.default_role: \"boss\""),
            ("", "oidc.roles is empty and there is no oidc.default_role"),
            (
                "    default_role: viewer\n    scopes: [profile]\n",
                "oidc.scopes must include openid",
            ),
            (
                "    default_role: viewer\n    redirect_url: belfry/cb\n",
                "oidc.redirect_url:",
            ),
            (
                "    default_role: viewer\n    claims: x\n",
                "unknown field `claims`",
            ),
        ];
        for (extra, want) in cases {
            let e = parse(&format!("{BASE}{extra}")).unwrap_err();
            assert!(e.contains(want), "{extra:?}: {e}");
        }
        let e = parse(&BASE.replace("https://idp.example.edu/realms/staff", "idp")).unwrap_err();
        assert!(e.contains("oidc.issuer:"), "{e}");
        let e = parse(&BASE.replace("${OIDC_SECRET}", "\"\"")).unwrap_err();
        assert!(e.contains("oidc.client_secret is empty"), "{e}");
    }
}
