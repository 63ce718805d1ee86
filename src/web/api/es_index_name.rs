//! Which `{index}` path segments are index names. The catch-all
//! `GET|HEAD|PUT /{index}` of the Elasticsearch routes would otherwise
//! answer `/favicon.ico`, `/robots.txt` or a scanner's `/.env` as if they
//! were indexes; a name Elasticsearch itself refuses, or one shaped like a
//! file a browser or crawler fetches, is not one.

/// What is wrong with `name` as an index name, in Elasticsearch's words;
/// `None` when it is one.
pub fn invalid_index_name(name: &str) -> Option<String> {
    let refuse = |why: &str| Some(format!("Invalid index name [{name}], {why}"));
    if name.is_empty() {
        return refuse("must not be empty");
    }
    if name == "." || name == ".." {
        return refuse("must not be '.' or '..'");
    }
    if name.starts_with(['_', '-', '+']) {
        return refuse("must not start with '_', '-', or '+'");
    }
    if name.len() > 255 {
        return refuse("index name is too long, (must be at most 255 bytes)");
    }
    if name.chars().any(|c| c.is_uppercase()) {
        return refuse("must be lowercase");
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN.contains(*c)) {
        return refuse(&format!(
            "must not contain the following characters [{c:?} of {FORBIDDEN:?}]"
        ));
    }
    if let Some((_, extension)) = name.rsplit_once('.')
        && WEB_FILE_EXTENSIONS.contains(&extension)
    {
        return refuse(&format!("a .{extension} file is not an index"));
    }
    None
}

/// Characters Elasticsearch refuses in an index name.
const FORBIDDEN: &str = "\\/*?\"<>| ,#:";

/// Extensions of what browsers and crawlers fetch unasked (`favicon.ico`,
/// `robots.txt`, `sitemap.xml`, `.well-known` files) and scanners probe
/// for. Elasticsearch would take `favicon.ico` as a name; no shipper
/// writes logs to an index named like a web file.
const WEB_FILE_EXTENSIONS: &[&str] = &[
    "ico",
    "png",
    "jpg",
    "jpeg",
    "gif",
    "svg",
    "webp",
    "txt",
    "xml",
    "html",
    "htm",
    "css",
    "js",
    "map",
    "json",
    "php",
    "asp",
    "aspx",
    "webmanifest",
    "env",
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shipper_index_names_pass_and_web_files_do_not() {
        for ok in [
            "lms",
            "filebeat-8.17.0",
            "logs-2024.05.01",
            ".ds-logs",
            "logstash-2024.12.07",
            "a_b+c",
        ] {
            assert_eq!(invalid_index_name(ok), None, "{ok}");
        }
        for bad in [
            "favicon.ico",
            "robots.txt",
            ".env",
            "index.html",
            "_all",
            "-x",
            "+x",
            ".",
            "..",
            "Logs",
            "a b",
            "a,b",
            "a#b",
            "a*",
            "a\"b",
            "a<b",
            "a|b",
            "a?b",
            "a\\b",
            "",
        ] {
            assert!(invalid_index_name(bad).is_some(), "{bad}");
        }
        assert_eq!(
            invalid_index_name("Logs").unwrap(),
            "Invalid index name [Logs], must be lowercase"
        );
    }

    proptest! {
        #[test]
        fn lowercase_dashed_dated_names_are_index_names(base in "[a-z][a-z0-9-]{0,20}", y in 2000u32..2100, m in 1u32..13) {
            let dated = format!("{base}-{y}.{m:02}");
            prop_assert_eq!(invalid_index_name(&base), None);
            prop_assert_eq!(invalid_index_name(&dated), None);
        }
    }
}
