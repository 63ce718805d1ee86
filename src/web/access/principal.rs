//! Who a request is from, once the access layer has looked: handlers that
//! record or show who acted read it from the request's extensions.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::{Actor, Permission, Role, Scope, scopes_allow};
use crate::web::error::ApiError;

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

/// Who a request acts as, for the audit log: the principal and source
/// the access layer put in the request, read by handlers that change
/// accounts.
pub struct ActingAs(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for ActingAs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let (Some(principal), Some(source)) = (
            parts.extensions.get::<Principal>(),
            parts.extensions.get::<Source>(),
        ) else {
            return Err(ApiError::Internal(
                "the access layer did not run for this route".to_string(),
            ));
        };
        Ok(ActingAs(principal.actor(&source.0)))
    }
}
