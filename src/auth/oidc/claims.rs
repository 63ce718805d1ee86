//! From the claims of a verified sign-in to a Belfry user: the name from
//! `username_claim` (no fallback to `sub`: an opaque id in the audit log
//! names nobody), the role from `role_claim` through `roles` — the highest
//! role any value maps to — else `default_role`, else refused.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::OidcError;
use crate::auth::Role;
use crate::config::{OidcConfig, is_valid_account_name};

pub struct RoleMapping {
    username_claim: String,
    role_claim: String,
    roles: BTreeMap<String, Role>,
    default_role: Option<Role>,
}

impl RoleMapping {
    pub fn from_config(config: &OidcConfig) -> Self {
        // The configuration validated every role word.
        let role = |w: &str| w.parse::<Role>().unwrap_or(Role::Viewer);
        RoleMapping {
            username_claim: config.username_claim.clone(),
            role_claim: config.role_claim.clone(),
            roles: config.roles.iter().map(|(k, v)| (k.clone(), role(v))).collect(),
            default_role: config.default_role.as_deref().map(role),
        }
    }

    /// The claims the mapping reads, to know whether userinfo is needed.
    pub fn has_its_claims(&self, claims: &Map<String, Value>) -> bool {
        claims.contains_key(&self.username_claim) && claims.contains_key(&self.role_claim)
    }

    pub fn user_name(&self, claims: &Map<String, Value>) -> Result<String, OidcError> {
        let claim = &self.username_claim;
        match claims.get(claim) {
            Some(Value::String(name)) if is_valid_account_name(name) => Ok(name.clone()),
            Some(Value::String(name)) => Err(OidcError::Claim(format!(
                "the {claim} claim {name:?} is not a usable user name (1–64 of letters, digits, '.', '_', '@', '-')"
            ))),
            Some(_) => Err(OidcError::Claim(format!("the {claim} claim is not a string"))),
            None => Err(OidcError::Claim(format!(
                "the identity provider sent no {claim} claim (auth.oidc.username_claim); check the scopes asked for"
            ))),
        }
    }

    pub fn role(&self, user: &str, claims: &Map<String, Value>) -> Result<Role, OidcError> {
        let values: Vec<&str> = match claims.get(&self.role_claim) {
            Some(Value::String(v)) => vec![v.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        values
            .iter()
            .filter_map(|v| self.roles.get(*v).copied())
            .max()
            .or(self.default_role)
            .ok_or_else(|| OidcError::NoRole {
                user: user.to_string(),
                claim: self.role_claim.clone(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping(default_role: Option<&str>) -> RoleMapping {
        let yaml = format!(
            "issuer: https://idp.example.edu\nclient_id: b\nclient_secret: s\nrole_claim: groups\nroles: {{staff: viewer, it: admin, support: editor}}\n{}",
            default_role
                .map(|r| format!("default_role: {r}\n"))
                .unwrap_or_default()
        );
        RoleMapping::from_config(&serde_norway::from_str(&yaml).unwrap())
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_highest_mapped_role_wins() {
        let m = mapping(None);
        let c = claims(json!({"groups": ["staff", "it", "unknown"]}));
        assert_eq!(m.role("ann", &c).unwrap(), Role::Admin);
        assert_eq!(
            m.role("ann", &claims(json!({"groups": "support"}))).unwrap(),
            Role::Editor
        );
    }

    #[test]
    fn unmapped_people_get_the_default_or_are_refused() {
        let c = claims(json!({"groups": ["students"]}));
        let e = mapping(None).role("bob", &c).unwrap_err();
        assert_eq!(e.reason(), "no_role");
        assert!(e.to_string().contains("\"bob\" has no Belfry role"), "{e}");
        assert!(mapping(None).role("bob", &claims(json!({}))).is_err());
        assert_eq!(mapping(Some("viewer")).role("bob", &c).unwrap(), Role::Viewer);
    }

    #[test]
    fn the_user_name_comes_from_its_claim_only() {
        let m = mapping(None);
        assert_eq!(
            m.user_name(&claims(json!({"preferred_username": "ann@uni.edu"})))
                .unwrap(),
            "ann@uni.edu"
        );
        let e = m.user_name(&claims(json!({"sub": "123"}))).unwrap_err();
        assert!(e.to_string().contains("no preferred_username claim"), "{e}");
        assert!(
            m.user_name(&claims(json!({"preferred_username": "a b"})))
                .is_err()
        );
        assert!(m.user_name(&claims(json!({"preferred_username": 7}))).is_err());
    }
}
