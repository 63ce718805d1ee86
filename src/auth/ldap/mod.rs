//! Signing in against an LDAP directory (`auth.ldap`), beside the local
//! users: search-then-bind over ldaps:// or STARTTLS, the user's groups
//! mapped to a role.
//!
//! `directory.rs` (`LdapDirectory`: the steps of one sign-in, its outcome
//! counted and logged), `session.rs` (one connection, closed after the
//! sign-in), `filter.rs` (RFC 4515 escaping of what the user typed),
//! `roles.rs` (group DNs → role), `metrics.rs` (`belfry_auth_ldap_*`).

mod directory;
mod filter;
mod metrics;
mod roles;
mod session;

pub use directory::LdapDirectory;
