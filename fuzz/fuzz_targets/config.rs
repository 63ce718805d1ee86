//! Fuzzes configuration parsing (`Config::from_yaml_with_env`, what
//! `Config::load` and `belfry check config` use), `${VAR}` expansion
//! included: it never panics; a syntax or type error carries a line and
//! column inside the text; an unset variable is reported only for a name
//! that is unset and referenced; parsing is deterministic; and text
//! without `$` does not depend on the environment.

#![no_main]

use belfry::config::{Config, ConfigError, FileError};
use libfuzzer_sys::fuzz_target;

const ORIGIN: &str = "fuzz.yml";

fn env(name: &str) -> Option<String> {
    match name {
        "PORT" => Some("9090".into()),
        "EMPTY" => Some(String::new()),
        "INTERVAL" => Some("15s".into()),
        "LIST" => Some("[a, b]".into()),
        "TOKEN" => Some("s3cr3t ${PORT} $$".into()),
        _ => None,
    }
}

fn check_error(text: &str, err: &ConfigError) {
    let message = err.to_string();
    assert!(message.starts_with(ORIGIN), "{message}");
    // YAML counts `\r`, `\n` and `\r\n` each as one line break.
    let lines = 1 + text
        .replace("\r\n", "\n")
        .bytes()
        .filter(|&b| b == b'\n' || b == b'\r')
        .count();
    match err {
        ConfigError::File(FileError::At { line, column, .. }) => {
            assert!(*line >= 1 && *column >= 1, "{message}");
            // The end of the text may be reported on the line after it.
            assert!(*line <= lines + 1, "{message} (the text has {lines} lines)");
        }
        ConfigError::UnsetVariable {
            line, column, name, ..
        } => {
            assert!(*line >= 1 && *column >= 1 && *line <= lines, "{message}");
            assert_eq!(env(name), None, "{message}");
            assert!(text.contains(&format!("${{{name}}}")), "{message}");
        }
        ConfigError::File(FileError::Invalid { message: m, .. }) => {
            // Only errors found after parsing may lack a place, so the text
            // must at least be well-formed YAML. (serde_norway gives no
            // place for a second document.)
            assert!(
                serde_norway::from_str::<serde_norway::Value>(text).is_ok()
                    || m.contains("more than one document"),
                "a YAML error without a position: {message}"
            );
        }
        ConfigError::File(FileError::Read { .. }) => panic!("no file was read: {message}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let result = Config::from_yaml_with_env(text, ORIGIN, env);
    if let Err(err) = &result {
        check_error(text, err);
    }
    let again = Config::from_yaml_with_env(text, ORIGIN, env);
    match (&result, &again) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("parsing the same text twice gave different results"),
    }
    if !text.contains('$') {
        let bare = Config::from_yaml_with_env(text, ORIGIN, |_| None);
        match (&result, &bare) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!("text without variables depended on the environment"),
        }
    }
});
