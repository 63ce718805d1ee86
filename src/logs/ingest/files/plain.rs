//! Plain text lines: the level is read from a level word near the start,
//! as most text formats put it there (Python's `%(levelname)s`, log4j's
//! `%-5p`, nginx's `[error]`). Only upper-case words, bracketed words or
//! `level=` count, so a message that merely mentions an "error" keeps the
//! default level.

/// How far into a line the level word is looked for.
const SCAN_BYTES: usize = 256;

const WORDS: &[&str] = &[
    "TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "ERR", "CRITICAL", "CRIT", "FATAL",
    "PANIC", "ALERT", "EMERG", "SEVERE",
];

/// The level word of `line`, as written.
pub fn detect_level(line: &str) -> Option<&str> {
    let mut end = line.len().min(SCAN_BYTES);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    let head = &line[..end];
    let bytes = head.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let word = &head[start..i];
        let before = start.checked_sub(1).map(|b| bytes[b]);
        let after = bytes.get(i).copied();
        if WORDS.contains(&word) {
            return Some(word);
        }
        let bracketed = before == Some(b'[') && after == Some(b']');
        if bracketed && WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)) {
            return Some(word);
        }
        let is_level_key = matches!(word, "level" | "lvl" | "severity") && after == Some(b'=');
        if is_level_key {
            let value_start = i + 1;
            let value_end = bytes[value_start..]
                .iter()
                .position(|b| !b.is_ascii_alphanumeric())
                .map_or(bytes.len(), |n| value_start + n);
            if value_end > value_start {
                return Some(&head[value_start..value_end]);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_level_word_of_common_formats() {
        assert_eq!(
            detect_level("2026-12-06 10:00:00,123 ERROR lms.grading grading failed"),
            Some("ERROR")
        );
        assert_eq!(detect_level("WARNING:root:disk almost full"), Some("WARNING"));
        assert_eq!(
            detect_level("2026/12/06 10:00:00 [error] 12#0: upstream timed out"),
            Some("error")
        );
        assert_eq!(detect_level("ts=1 level=warn msg=x"), Some("warn"));
        assert_eq!(detect_level("[2026-12-06 10:00:00] INFO: started"), Some("INFO"));
    }

    #[test]
    fn a_mentioned_error_is_not_a_level() {
        assert_eq!(detect_level("request failed with error code 3"), None);
        assert_eq!(detect_level("Errors: none"), None);
        assert_eq!(detect_level(""), None);
        let long = format!("{} ERROR late", "x".repeat(300));
        assert_eq!(detect_level(&long), None);
        assert_eq!(detect_level(&"é".repeat(200)), None);
    }
}
