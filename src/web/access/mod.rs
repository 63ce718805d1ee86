//! Access control over HTTP: the route → permission table, who a request
//! is from (session cookie, API token), the CSRF check, and the layer
//! that applies them in front of every route. The accounts themselves
//! (users, tokens, sessions, the audit log) are `crate::auth`.

pub mod credentials;
mod gate;
mod principal;
pub mod route_table;

pub use gate::{AccessControl, access, identify, percent_encode};
pub use principal::{ActingAs, Principal, Source};
