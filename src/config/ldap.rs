//! `auth.ldap`: signing in against an LDAP directory (OpenLDAP, Active
//! Directory, 389-DS) beside the local users. Belfry searches the user's
//! entry (as `bind_dn`, or anonymously), reads the groups the entry is a
//! member of, maps them to a role, and binds as the entry with the typed
//! password. The machinery is `crate::auth::ldap`; this file is the shape
//! and the checks that need no network.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::secret::Secret;
use crate::model::PromDuration;

/// The placeholder for the user's name, escaped for a filter: as typed in
/// `user_filter`, as recorded (the entry's uid) in `group_filter`.
pub const USER_PLACEHOLDER: &str = "{user}";
/// The placeholder of `group_filter` for the user entry's DN, escaped.
pub const DN_PLACEHOLDER: &str = "{dn}";
/// Longest `timeout`: a login waits at most this for the directory.
pub const MAX_LDAP_TIMEOUT_SECS: u64 = 60;

/// A role as the configuration names it. `crate::auth::Role` is the one
/// the accounts use; configuration sits below `auth` and cannot name it,
/// so the mapping's values are spelled here and converted there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Viewer,
    Editor,
    Admin,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldap://host[:port]` or `ldaps://host[:port]`.
    pub url: String,
    /// Upgrade an `ldap://` connection with STARTTLS before anything is
    /// sent.
    #[serde(default)]
    pub start_tls: bool,
    /// PEM certificates to trust instead of the Mozilla roots, for a
    /// directory with a certificate of the institution's own CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The entry the search binds as; absent = an anonymous search.
    #[serde(default)]
    pub bind_dn: Option<String>,
    /// Usually `${VAR}`, so the password stays out of the file.
    #[serde(default)]
    pub bind_password: Secret,
    /// Where user entries are searched (the whole subtree).
    pub user_base_dn: String,
    /// Finds the one entry of a typed name: `{user}` is the name, escaped.
    #[serde(default = "default_user_filter")]
    pub user_filter: String,
    /// Where group entries are searched (the whole subtree); needed when
    /// `groups` maps any.
    #[serde(default)]
    pub group_base_dn: Option<String>,
    /// Finds the groups of a user: `{dn}` is the user entry's DN and
    /// `{user}` the name recorded (the entry's uid), both escaped.
    #[serde(default = "default_group_filter")]
    pub group_filter: String,
    /// Group DN → role; a member of several gets the highest.
    #[serde(default)]
    pub groups: BTreeMap<String, RoleName>,
    /// The role of a user in no mapped group; absent = such a user is
    /// refused.
    #[serde(default)]
    pub default_role: Option<RoleName>,
    /// The most one sign-in waits for the directory, connection included.
    #[serde(default = "default_timeout")]
    pub timeout: PromDuration,
    /// Sign-ins talking to the directory at once; more are refused at once
    /// (a login flood must not open connections without bound).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

fn default_user_filter() -> String {
    "(uid={user})".to_string()
}
fn default_group_filter() -> String {
    "(|(member={dn})(uniqueMember={dn}))".to_string()
}
fn default_timeout() -> PromDuration {
    PromDuration::from_secs(5)
}
fn default_max_connections() -> usize {
    4
}

impl LdapConfig {
    /// A configuration with the defaults for everything but the URL and
    /// the user base, for tests and examples.
    pub fn new(url: impl Into<String>, user_base_dn: impl Into<String>) -> LdapConfig {
        LdapConfig {
            url: url.into(),
            start_tls: false,
            ca_file: None,
            bind_dn: None,
            bind_password: Secret::default(),
            user_base_dn: user_base_dn.into(),
            user_filter: default_user_filter(),
            group_base_dn: None,
            group_filter: default_group_filter(),
            groups: BTreeMap::new(),
            default_role: None,
            timeout: default_timeout(),
            max_connections: default_max_connections(),
        }
    }

    /// Whether the connection is TLS, from the start or after STARTTLS.
    pub fn uses_tls(&self) -> bool {
        self.start_tls || self.url.starts_with("ldaps://")
    }

    /// Every message starts with the key it is about (after `auth.`).
    pub fn validate(&self) -> Result<(), String> {
        self.validate_url()?;
        if self.ca_file.is_some() && !self.uses_tls() {
            return Err(
                "ldap.ca_file is set but the connection does not use TLS (use ldaps:// or start_tls: true)"
                    .to_string(),
            );
        }
        if matches!(&self.ca_file, Some(p) if p.as_os_str().is_empty()) {
            return Err("ldap.ca_file is empty".to_string());
        }
        match (&self.bind_dn, self.bind_password.is_empty()) {
            (Some(dn), _) if dn.trim().is_empty() => {
                return Err("ldap.bind_dn is empty (leave it out for an anonymous search)".to_string());
            }
            (Some(_), true) => {
                return Err(
                    "ldap.bind_password is empty (set it from the environment, e.g. bind_password: ${BELFRY_LDAP_PASSWORD})"
                        .to_string(),
                );
            }
            (None, false) => {
                return Err("ldap.bind_password is set without ldap.bind_dn".to_string());
            }
            _ => {}
        }
        if self.user_base_dn.trim().is_empty() {
            return Err("ldap.user_base_dn is empty".to_string());
        }
        check_filter("ldap.user_filter", &self.user_filter, &[USER_PLACEHOLDER])?;
        check_filter(
            "ldap.group_filter",
            &self.group_filter,
            &[DN_PLACEHOLDER, USER_PLACEHOLDER],
        )?;
        if !self.groups.is_empty() && self.group_base_dn.as_deref().is_none_or(|b| b.trim().is_empty()) {
            return Err("ldap.group_base_dn is required when ldap.groups maps any group".to_string());
        }
        if let Some(dn) = self.groups.keys().find(|dn| !dn.contains('=')) {
            return Err(format!(
                "ldap.groups: {dn:?} is not a DN (e.g. cn=it-staff,ou=groups,dc=example,dc=org)"
            ));
        }
        if self.groups.is_empty() && self.default_role.is_none() {
            return Err(
                "ldap.groups maps no group and ldap.default_role is not set, so nobody could sign in"
                    .to_string(),
            );
        }
        if self.timeout.is_zero() || self.timeout.as_duration().as_secs() > MAX_LDAP_TIMEOUT_SECS {
            return Err(format!(
                "ldap.timeout must be longer than 0s and at most {MAX_LDAP_TIMEOUT_SECS}s (got {})",
                self.timeout
            ));
        }
        if !(1..=64).contains(&self.max_connections) {
            return Err(format!(
                "ldap.max_connections must be between 1 and 64 (got {})",
                self.max_connections
            ));
        }
        Ok(())
    }

    fn validate_url(&self) -> Result<(), String> {
        let url = reqwest::Url::parse(&self.url).map_err(|e| format!("ldap.url {:?}: {e}", self.url))?;
        let tls = match url.scheme() {
            "ldap" => false,
            "ldaps" => true,
            other => {
                return Err(format!(
                    "ldap.url {:?}: scheme {other:?} is not ldap or ldaps",
                    self.url
                ));
            }
        };
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(format!("ldap.url {:?} names no host", self.url));
        };
        // Base DN, attributes and filters belong to their own keys; an
        // LDAP URL's would be silently ignored.
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "ldap.url {:?}: only scheme, host and port belong here (user_base_dn and user_filter are keys of their own)",
                self.url
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("ldap.url carries credentials; use ldap.bind_dn and ldap.bind_password".to_string());
        }
        if tls && self.start_tls {
            return Err(format!(
                "ldap.start_tls applies to ldap:// URLs; {:?} is TLS from the start",
                self.url
            ));
        }
        // Passwords travel in the bind; in clear text only to this host.
        if !tls && !self.start_tls && !is_loopback(host) {
            return Err(format!(
                "ldap.url {:?} would send passwords in clear text; use ldaps:// or start_tls: true \
                 (plain ldap:// is accepted only for a loopback host)",
                self.url
            ));
        }
        Ok(())
    }

    /// Makes `ca_file` relative to the configuration file's directory.
    pub(super) fn resolve_paths(&mut self, dir: &Path) {
        super::http::resolve(dir, &mut self.ca_file);
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A filter template: parenthesized, balanced, naming one of `placeholders`.
/// (The server parses the rest; a wrong attribute name is its business.)
fn check_filter(key: &str, filter: &str, placeholders: &[&str]) -> Result<(), String> {
    let trimmed = filter.trim();
    if !trimmed.starts_with('(') || !trimmed.ends_with(')') {
        return Err(format!("{key} {filter:?} is not a parenthesized LDAP filter"));
    }
    // One filter: the parentheses balance, and only at the very end.
    let mut depth = 0i32;
    let mut chars = trimmed.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // `\29` is a parenthesis as text; skip what the escape covers.
            '\\' => {
                chars.next();
            }
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 && chars.peek().is_some() {
                    depth = -1;
                }
                if depth < 0 {
                    break;
                }
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!(
            "{key} {filter:?} has unbalanced parentheses or is more than one filter"
        ));
    }
    if !placeholders.iter().any(|p| filter.contains(p)) {
        return Err(format!(
            "{key} {filter:?} must contain {}",
            placeholders.join(" or ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<crate::config::Config, String> {
        crate::config::Config::from_yaml_with_env(yaml, "c.yml", |name| match name {
            "LDAP_PW" => Some("s3rvice pw".to_string()),
            _ => None,
        })
        .map_err(|e| e.to_string())
    }

    const MINIMAL: &str = "auth:\n  ldap:\n    url: ldap://127.0.0.1:3890\n    user_base_dn: ou=people,dc=example,dc=org\n    default_role: viewer\n";

    #[test]
    fn defaults() {
        let c = parse(MINIMAL).unwrap();
        let l = c.auth.ldap.unwrap();
        assert_eq!(l.user_filter, "(uid={user})");
        assert_eq!(l.group_filter, "(|(member={dn})(uniqueMember={dn}))");
        assert_eq!(l.timeout, PromDuration::from_secs(5));
        assert_eq!(l.max_connections, 4);
        assert!(!l.start_tls && l.bind_dn.is_none() && l.groups.is_empty());
        assert_eq!(l.default_role, Some(RoleName::Viewer));
        assert!(parse("auth: {}\n").unwrap().auth.ldap.is_none());
    }

    #[test]
    fn full_section_with_the_password_from_the_environment() {
        let c = parse(
            "auth:\n  ldap:\n    url: ldap://ldap.example.org\n    start_tls: true\n    ca_file: ca.pem\n    \
             bind_dn: cn=belfry,dc=example,dc=org\n    bind_password: ${LDAP_PW}\n    \
             user_base_dn: ou=people,dc=example,dc=org\n    user_filter: (&(objectClass=person)(uid={user}))\n    \
             group_base_dn: ou=groups,dc=example,dc=org\n    \
             groups:\n      cn=it-staff,ou=groups,dc=example,dc=org: admin\n      \
             cn=teaching-support,ou=groups,dc=example,dc=org: editor\n    timeout: 2s\n",
        )
        .unwrap();
        let l = c.auth.ldap.clone().unwrap();
        assert_eq!(l.bind_password.expose(), "s3rvice pw");
        assert_eq!(l.groups.len(), 2);
        assert_eq!(
            l.groups["cn=it-staff,ou=groups,dc=example,dc=org"],
            RoleName::Admin
        );
        assert_eq!(l.timeout, PromDuration::from_secs(2));
        assert!(l.uses_tls());
        // Relative to the configuration file's directory (here ".").
        assert!(l.ca_file.unwrap().ends_with("ca.pem"));
        assert!(!format!("{:?}", c.auth).contains("s3rvice"));
        assert!(!serde_json::to_string(&c.auth).unwrap().contains("s3rvice"));
    }

    fn refused(extra: &str, replace: Option<(&str, &str)>) -> String {
        let mut yaml = MINIMAL.to_string();
        if let Some((from, to)) = replace {
            yaml = yaml.replace(from, to);
        }
        yaml.push_str(extra);
        parse(&yaml).unwrap_err()
    }

    #[test]
    fn refusals_name_the_key() {
        // (lines added, a replacement in the minimal section, the message)
        type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a str);
        let cases: &[Case] = &[
            ("    nope: 1\n", None, "unknown field `nope`"),
            (
                "",
                Some(("ldap://127.0.0.1:3890", "http://x")),
                "ldap.url \"http://x\": scheme \"http\"",
            ),
            (
                "",
                Some(("ldap://127.0.0.1:3890", "not a url")),
                "ldap.url \"not a url\"",
            ),
            (
                "",
                Some(("ldap://127.0.0.1:3890", "ldap://ldap.example.org")),
                "would send passwords in clear text",
            ),
            (
                "",
                Some(("ldap://127.0.0.1:3890", "ldap://127.0.0.1/dc=example")),
                "only scheme, host and port",
            ),
            (
                "    start_tls: true\n",
                Some(("ldap://", "ldaps://")),
                "ldap.start_tls applies to ldap://",
            ),
            (
                "    ca_file: ca.pem\n",
                None,
                "ldap.ca_file is set but the connection does not use TLS",
            ),
            ("    bind_dn: cn=belfry\n", None, "ldap.bind_password is empty"),
            (
                "    bind_password: x\n",
                None,
                "ldap.bind_password is set without ldap.bind_dn",
            ),
            (
                "",
                Some(("ou=people,dc=example,dc=org", "\"\"")),
                "ldap.user_base_dn is empty",
            ),
            (
                "    user_filter: uid={user}\n",
                None,
                "ldap.user_filter \"uid={user}\" is not a parenthesized",
            ),
            (
                "    user_filter: (uid=alice)\n",
                None,
                "ldap.user_filter \"(uid=alice)\" must contain {user}",
            ),
            (
                "    user_filter: (&(uid={user})\n",
                None,
                "unbalanced parentheses",
            ),
            (
                "    group_filter: (member=x)\n",
                None,
                "ldap.group_filter \"(member=x)\" must contain {dn} or {user}",
            ),
            (
                "    groups:\n      cn=a,dc=b: admin\n",
                None,
                "ldap.group_base_dn is required",
            ),
            (
                "    group_base_dn: dc=b\n    groups:\n      it-staff: admin\n",
                None,
                "ldap.groups: \"it-staff\" is not a DN",
            ),
            (
                "    group_base_dn: dc=b\n    groups:\n      cn=a,dc=b: root\n",
                None,
                "unknown variant `root`",
            ),
            (
                "",
                Some(("    default_role: viewer\n", "")),
                "nobody could sign in",
            ),
            ("    timeout: 0s\n", None, "ldap.timeout must be longer than 0s"),
            (
                "    timeout: 5m\n",
                None,
                "ldap.timeout must be longer than 0s and at most 60s",
            ),
            (
                "    max_connections: 0\n",
                None,
                "ldap.max_connections must be between 1 and 64",
            ),
        ];
        for (extra, replace, want) in cases {
            let e = refused(extra, *replace);
            assert!(e.contains(want), "{extra:?} {replace:?}: {e}");
        }
        // Validation errors come through the auth section.
        let e = refused("    max_connections: 0\n", None);
        assert!(e.contains("auth: ldap.max_connections"), "{e}");
    }

    #[test]
    fn loopback_hosts_may_use_plain_ldap() {
        for url in ["ldap://127.0.0.1", "ldap://localhost:389", "ldap://[::1]:3890"] {
            let l = LdapConfig {
                default_role: Some(RoleName::Viewer),
                ..LdapConfig::new(url, "dc=example")
            };
            assert_eq!(l.validate(), Ok(()), "{url}");
        }
        let l = LdapConfig {
            default_role: Some(RoleName::Viewer),
            start_tls: true,
            ..LdapConfig::new("ldap://ldap.example.org", "dc=example")
        };
        assert_eq!(l.validate(), Ok(()));
    }

    #[test]
    fn filter_check_counts_escaped_parentheses_as_text() {
        assert_eq!(check_filter("k", "(cn=a\\29{user})", &["{user}"]), Ok(()));
        assert!(check_filter("k", "(cn=a)){user}(", &["{user}"]).is_err());
        assert!(check_filter("k", "(uid={user})(uid=*)", &["{user}"]).is_err());
    }
}
