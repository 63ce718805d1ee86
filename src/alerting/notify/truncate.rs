//! Cutting a text to a service's limit the way Alertmanager does: by
//! characters (runes), the last one replaced by `…` so a reader sees the
//! text was cut.

const MARKER: char = '…';

/// The text cut to at most `max` characters, and whether it was cut.
pub fn runes(s: String, max: usize) -> (String, bool) {
    if s.chars().count() <= max {
        return (s, false);
    }
    if max <= 3 {
        return (s.chars().take(max).collect(), true);
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push(MARKER);
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::runes;

    #[test]
    fn cuts_by_characters_with_a_marker() {
        assert_eq!(runes("héllo".into(), 5), ("héllo".into(), false));
        assert_eq!(runes("héllo!".into(), 5), ("héll…".into(), true));
        assert_eq!(runes("abcdef".into(), 2), ("ab".into(), true));
    }
}
