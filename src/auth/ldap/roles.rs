//! Group DNs → a role. The directory returns the DNs of the groups a user
//! is in, spelled as it stores them; the configuration names them as an
//! operator typed them. Both are compared in one normal form: attribute
//! names and values without the spaces around `,` and `=`, and ASCII
//! case folded (DN attribute types are case-insensitive, and the usual
//! naming attributes — cn, ou, dc — match case-insensitively too).

use std::collections::BTreeMap;

use crate::auth::Role;
use crate::config::RoleName;

/// Converts the configuration's spelling of a role.
pub fn role(name: RoleName) -> Role {
    match name {
        RoleName::Viewer => Role::Viewer,
        RoleName::Editor => Role::Editor,
        RoleName::Admin => Role::Admin,
    }
}

/// The configured mapping, in normal form.
#[derive(Debug)]
pub struct GroupRoles {
    by_dn: BTreeMap<String, Role>,
    default_role: Option<Role>,
}

impl GroupRoles {
    pub fn new(groups: &BTreeMap<String, RoleName>, default_role: Option<RoleName>) -> GroupRoles {
        let mut by_dn: BTreeMap<String, Role> = BTreeMap::new();
        for (dn, name) in groups {
            // Two spellings of one group: the higher role, as for a member
            // of two groups.
            let entry = by_dn.entry(normalize_dn(dn)).or_insert(role(*name));
            *entry = (*entry).max(role(*name));
        }
        GroupRoles {
            by_dn,
            default_role: default_role.map(role),
        }
    }

    /// Whether any group is mapped (else no group search is needed).
    pub fn maps_groups(&self) -> bool {
        !self.by_dn.is_empty()
    }

    /// The highest role of the mapped groups among `member_of`, else the
    /// default role; None = the user may not sign in.
    pub fn role_for<'a>(&self, member_of: impl IntoIterator<Item = &'a str>) -> Option<Role> {
        member_of
            .into_iter()
            .filter_map(|dn| self.by_dn.get(&normalize_dn(dn)).copied())
            .max()
            .or(self.default_role)
    }
}

/// The normal form of a DN for comparison: spaces around the separators
/// dropped (except escaped ones), ASCII lower case. Escapes (`\,`, `\2C`)
/// are kept as written, so an escaped comma never splits an RDN.
pub fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut chars = dn.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(next) = chars.next() {
                    out.push(next.to_ascii_lowercase());
                }
            }
            ',' | '=' | '+' => {
                trim_end_unescaped(&mut out);
                out.push(c);
                // Skip the spaces after a separator.
                let rest = chars.as_str().trim_start_matches(' ');
                chars = rest.chars();
            }
            _ => out.push(c.to_ascii_lowercase()),
        }
    }
    trim_end_unescaped(&mut out);
    out
}

/// Drops trailing spaces unless the last one is escaped (`\ `).
fn trim_end_unescaped(s: &mut String) {
    while s.ends_with(' ') && !s.ends_with("\\ ") {
        s.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_form() {
        assert_eq!(
            normalize_dn(" CN=IT-Staff , OU=Groups,dc=Example ,DC=org "),
            "cn=it-staff,ou=groups,dc=example,dc=org"
        );
        assert_eq!(normalize_dn("cn = a\\, b,dc=x"), "cn=a\\, b,dc=x");
        assert_eq!(normalize_dn("cn=trailing\\ ,dc=x"), "cn=trailing\\ ,dc=x");
        assert_eq!(normalize_dn("cn=a+uid=b,dc=x"), "cn=a+uid=b,dc=x");
        assert_ne!(normalize_dn("cn=a\\,b,dc=x"), normalize_dn("cn=a,b,dc=x"));
    }

    #[test]
    fn highest_mapped_role_wins_else_the_default() {
        let groups = BTreeMap::from([
            (
                "cn=it-staff,ou=groups,dc=example,dc=org".to_string(),
                RoleName::Admin,
            ),
            (
                "cn=teaching-support,ou=groups,dc=example,dc=org".to_string(),
                RoleName::Editor,
            ),
        ]);
        let strict = GroupRoles::new(&groups, None);
        assert!(strict.maps_groups());
        assert_eq!(
            strict.role_for([
                "cn=Teaching-Support, ou=groups, dc=example, dc=org",
                "cn=IT-Staff,ou=Groups,dc=Example,dc=Org",
            ]),
            Some(Role::Admin)
        );
        assert_eq!(
            strict.role_for(["cn=teaching-support,ou=groups,dc=example,dc=org", "cn=other,dc=x"]),
            Some(Role::Editor)
        );
        assert_eq!(strict.role_for(["cn=other,dc=x"]), None);
        assert_eq!(strict.role_for([]), None);
        let lenient = GroupRoles::new(&groups, Some(RoleName::Viewer));
        assert_eq!(lenient.role_for(["cn=other,dc=x"]), Some(Role::Viewer));
        assert_eq!(
            lenient.role_for(["cn=it-staff,ou=groups,dc=example,dc=org"]),
            Some(Role::Admin)
        );
    }

    #[test]
    fn two_spellings_of_one_group_keep_the_higher_role() {
        let groups = BTreeMap::from([
            ("cn=staff,dc=x".to_string(), RoleName::Viewer),
            ("CN=Staff, DC=x".to_string(), RoleName::Editor),
        ]);
        let roles = GroupRoles::new(&groups, None);
        assert_eq!(roles.role_for(["cn=staff,dc=x"]), Some(Role::Editor));
    }
}
