//! The names a user id goes by — as a field, a label, or the key of a
//! `key=value` pair in free text. Logs read the user id from the first of
//! them present; every other place holding one is turned into a token too.

/// In the order the log mapping looks for the user id.
pub const USER_ID_NAMES: &[&str] = &[
    "user_id",
    "userId",
    "user.id",
    "usr.id",
    "uid",
    "user",
    "username",
    "user_name",
];

/// Whether a field or label name names a user id: one of
/// [`USER_ID_NAMES`], alone or as the last part of a prefixed name
/// (`sd@1.user_id`, `ctx.userId`), compared without regard to case.
pub fn names_a_user_id(name: &str) -> bool {
    let last = name.rsplit(['.', '@']).next().unwrap_or(name);
    USER_ID_NAMES
        .iter()
        .any(|alias| alias.eq_ignore_ascii_case(name) || alias.eq_ignore_ascii_case(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_alone_or_after_a_prefix_in_any_case() {
        for name in [
            "user_id",
            "USERID",
            "req@32473.user_id",
            "ctx.userId",
            "user.id",
            "a.b.uid",
        ] {
            assert!(names_a_user_id(name), "{name}");
        }
        for name in ["the_user_id", "user_ids", "course", "guid", "userid2"] {
            assert!(!names_a_user_id(name), "{name}");
        }
    }
}
