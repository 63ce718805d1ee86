//! What a person or a program may do. People have a [`Role`] (viewer <
//! editor < admin); API tokens carry [`Scope`]s. A route check asks for one
//! [`Permission`] and both answer it the same way, so the route table names
//! permissions, never roles or scopes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a route needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    /// Queries, dashboards, logs, issues: everything but secrets.
    Read,
    /// Sending metrics, logs and events in.
    Ingest,
    /// Silences, dashboards, issue status, rule reloads.
    Write,
    /// Users, tokens, configuration, the audit log.
    Admin,
}

impl Permission {
    pub const ALL: [Permission; 4] = [
        Permission::Read,
        Permission::Ingest,
        Permission::Write,
        Permission::Admin,
    ];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Editor, Role::Admin];

    /// Viewers read; editors also change silences, dashboards and issues;
    /// admins may do everything, ingest included (a person sending a test
    /// event is an admin's business, not an editor's).
    pub fn allows(self, p: Permission) -> bool {
        match self {
            Role::Viewer => p == Permission::Read,
            Role::Editor => matches!(p, Permission::Read | Permission::Write),
            Role::Admin => true,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    /// `pad`, so widths (`{:<7}` in `belfry user list`) apply.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?} (expected viewer, editor or admin)"))
    }
}

/// A token's grant; each scope is exactly one [`Permission`], so a token
/// for a log shipper (`ingest`) cannot read, and a Grafana data source's
/// (`read`) cannot write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Ingest,
    Write,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Ingest, Scope::Write, Scope::Admin];

    pub fn permission(self) -> Permission {
        match self {
            Scope::Read => Permission::Read,
            Scope::Ingest => Permission::Ingest,
            Scope::Write => Permission::Write,
            Scope::Admin => Permission::Admin,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Ingest => "ingest",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Scope::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown scope {s:?} (expected read, ingest, write or admin)"))
    }
}

/// Whether a set of scopes grants `p`.
pub fn scopes_allow(scopes: &[Scope], p: Permission) -> bool {
    scopes.iter().any(|s| s.permission() == p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_each_allows_what_the_one_below_does() {
        assert!(Role::Viewer < Role::Editor && Role::Editor < Role::Admin);
        let allowed = |r: Role| {
            Permission::ALL
                .into_iter()
                .filter(|p| r.allows(*p))
                .collect::<Vec<_>>()
        };
        assert_eq!(allowed(Role::Viewer), [Permission::Read]);
        assert_eq!(allowed(Role::Editor), [Permission::Read, Permission::Write]);
        assert_eq!(allowed(Role::Admin), Permission::ALL);
        for pair in Role::ALL.windows(2) {
            for p in Permission::ALL {
                assert!(!pair[0].allows(p) || pair[1].allows(p), "{:?} {p:?}", pair[1]);
            }
        }
    }

    #[test]
    fn scopes_map_one_to_one() {
        for s in Scope::ALL {
            let granted: Vec<_> = Permission::ALL
                .into_iter()
                .filter(|p| scopes_allow(&[s], *p))
                .collect();
            assert_eq!(granted, [s.permission()]);
        }
        assert!(!scopes_allow(&[], Permission::Read));
        assert!(scopes_allow(&[Scope::Ingest, Scope::Read], Permission::Read));
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{r}\""));
        }
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>().unwrap(), s);
        }
        assert!(
            "root"
                .parse::<Role>()
                .unwrap_err()
                .contains("viewer, editor or admin")
        );
        assert!("Read".parse::<Scope>().is_err());
    }
}
