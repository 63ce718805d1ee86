//! Finds where a value sits in the config text, for errors found after
//! deserialising (which carry no position). A best effort: the first line
//! at or after the `alerting:` section that contains the snippet.

pub(crate) fn locate(text: &str, snippet: &str) -> Option<(usize, usize)> {
    let start = text.lines().position(|l| l.starts_with("alerting:")).unwrap_or(0);
    text.lines()
        .enumerate()
        .skip(start)
        .find_map(|(i, line)| line.find(snippet).map(|col| (i + 1, col + 1)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_first_line_after_the_section() {
        let text = "receiver: x\nalerting:\n  route:\n    receiver: x\n";
        assert_eq!(super::locate(text, "receiver: x"), Some((4, 5)));
        assert_eq!(super::locate(text, "nope"), None);
    }
}
