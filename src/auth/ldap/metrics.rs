//! `belfry_auth_ldap_*`: sign-ins against the directory by result, and the
//! directory's failures by the step that failed.

use std::sync::Arc;

use crate::selfmetrics::{CounterVec, Registry};

/// The `result` label values of `belfry_auth_ldap_binds_total`.
pub mod result {
    pub const SUCCESS: &str = "success";
    /// The directory refused the user's bind (wrong password, or an
    /// account its policy disables).
    pub const WRONG_PASSWORD: &str = "wrong_password";
    pub const UNKNOWN_USER: &str = "unknown_user";
    /// The search matched more than one entry.
    pub const AMBIGUOUS_USER: &str = "ambiguous_user";
    /// In no mapped group, and no `default_role`.
    pub const NO_GROUP: &str = "no_group";
    /// Refused before any network: empty password, over-long name or
    /// password, control characters in the name.
    pub const REFUSED_INPUT: &str = "refused_input";
    /// The entry's name is not one Belfry can record.
    pub const UNUSABLE_NAME: &str = "unusable_name";
    /// `max_connections` sign-ins were already talking to the directory.
    pub const BUSY: &str = "busy";
    /// See `belfry_auth_ldap_directory_errors_total`.
    pub const DIRECTORY_ERROR: &str = "directory_error";
}

pub struct LdapMetrics {
    pub binds: Arc<CounterVec>,
    pub directory_errors: Arc<CounterVec>,
}

impl LdapMetrics {
    pub fn new(registry: &Registry) -> LdapMetrics {
        LdapMetrics {
            binds: registry.counter_vec(
                "belfry_auth_ldap_binds_total",
                "LDAP sign-ins by result (success, wrong_password, unknown_user, ambiguous_user, no_group, \
                 refused_input, unusable_name, busy, directory_error).",
                &["result"],
            ),
            directory_errors: registry.counter_vec(
                "belfry_auth_ldap_directory_errors_total",
                "LDAP directory failures by step (connect, service_bind, user_search, group_search, user_bind, \
                 timeout).",
                &["step"],
            ),
        }
    }
}
