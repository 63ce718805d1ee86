//! A runbook's name is the alertname it is for, so a rule of any team can
//! point at `/runbooks/TheirAlert`. Prometheus allows any UTF-8 in a label
//! value; a runbook's name is also one path segment of its URL, hence no
//! `/`, and is bounded so that a table key stays small.

use super::RunbookError;

/// The longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Accepts a non-empty name of at most 200 characters without `/` or
/// control characters (which no alertname in a URL can carry visibly).
pub fn validate_name(name: &str) -> Result<(), RunbookError> {
    let refuse = |reason| {
        Err(RunbookError::InvalidName {
            name: name.chars().take(MAX_NAME_CHARS).collect(),
            reason,
        })
    };
    if name.trim().is_empty() {
        return refuse("the name is empty");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return refuse("the name is longer than 200 characters");
    }
    if name.contains('/') {
        return refuse("the name contains '/', which cannot be one segment of /runbooks/NAME");
    }
    if name.chars().any(char::is_control) {
        return refuse("the name contains a control character");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alertnames_pass() {
        for ok in [
            "LMSAPIDown",
            "TheirAlert",
            "disk full (root)",
            "Ünïcode-Alarm",
            &"x".repeat(200),
        ] {
            validate_name(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }

    #[test]
    fn empty_long_slashed_and_control_names_are_refused() {
        for (bad, why) in [
            ("", "empty"),
            ("   ", "empty"),
            (&"x".repeat(201), "longer than 200"),
            ("a/b", "'/'"),
            ("a\nb", "control"),
        ] {
            let e = validate_name(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        // 200 characters, not bytes.
        validate_name(&"é".repeat(200)).unwrap();
    }
}
