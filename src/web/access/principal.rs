//! Who a request is from, once the access layer has looked: handlers that
//! record or show who acted read it from the request's extensions.

use crate::auth::{Actor, Permission, Role, Scope, scopes_allow};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// Access control is off: no account exists on a loopback listen, or
    /// `auth.disabled` says so. Everything is allowed.
    Open,
    /// A person with a session (the cookie), whose changes need the
    /// session's CSRF token.
    Person { name: String, role: Role },
    /// A program with an API token.
    Program { token: String, scopes: Vec<Scope> },
    /// Nothing presented (only public routes and DSN-key ingest get here).
    Anonymous,
}

impl Principal {
    pub fn allows(&self, p: Permission) -> bool {
        match self {
            Principal::Open => true,
            Principal::Person { role, .. } => role.allows(p),
            Principal::Program { scopes, .. } => scopes_allow(scopes, p),
            Principal::Anonymous => false,
        }
    }

    pub fn is_signed(&self) -> bool {
        !matches!(self, Principal::Anonymous)
    }

    /// The audit log's actor: a user's name, `token:NAME`, `open` (no
    /// access control) or `anonymous`.
    pub fn actor(&self, source: &str) -> Actor {
        let name = match self {
            Principal::Open => "open".to_string(),
            Principal::Person { name, .. } => name.clone(),
            Principal::Program { token, .. } => format!("token:{token}"),
            Principal::Anonymous => "anonymous".to_string(),
        };
        Actor::new(name, source)
    }
}

/// The client's address as the audit log and the login throttle see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source(pub String);
