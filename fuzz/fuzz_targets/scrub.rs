//! Fuzzes the privacy scrubbers (`privacy::Scrubber`) with the defaults
//! plus `ip_address`: never panics; scrubbing is idempotent; with the
//! markers removed the output is never longer than the input; a value
//! parsed as JSON scrubs to a value that scrubbing leaves alone, and its
//! text scrubs (`scrub_json_text`) to that same value; text is JSON to
//! `scrub_json_text` exactly when it is to `serde_json`. User ids
//! in text (`privacy::UserIdsInText`): never panics, idempotent, and no
//! pair's value is left raw.

#![no_main]

use std::sync::{Arc, OnceLock};

use belfry::config::{PrivacyConfig, Secret};
use belfry::privacy::{ScrubMetrics, Scrubber, UserIdHasher, UserIdKey, UserIdsInText};
use belfry::selfmetrics::Registry;
use libfuzzer_sys::fuzz_target;

fn scrubber() -> &'static Scrubber {
    static S: OnceLock<Scrubber> = OnceLock::new();
    S.get_or_init(|| {
        let config: PrivacyConfig =
            serde_norway::from_str("scrubbers: {enable: [ip_address]}").expect("valid config");
        config.validate().expect("valid config");
        Scrubber::new(&config.scrubbers, &ScrubMetrics::new(Arc::new(Registry::default())))
    })
}

fn user_ids() -> &'static (UserIdsInText, UserIdHasher) {
    static U: OnceLock<(UserIdsInText, UserIdHasher)> = OnceLock::new();
    U.get_or_init(|| {
        let metrics = ScrubMetrics::new(Arc::new(Registry::default()));
        let key = UserIdKey::from_secret(&Secret::new("fuzz-key-0123456789"));
        (UserIdsInText::new(&metrics), UserIdHasher::new(&key))
    })
}

fn without_markers(s: &str) -> String {
    ["[redacted]", "[email]", "[card]", "[ip]"]
        .iter()
        .fold(s.to_string(), |acc, m| acc.replace(m, ""))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let s = scrubber();
    let once = s.scrub(text).into_owned();
    assert_eq!(s.scrub(&once), once.as_str(), "not idempotent on {text:?}");
    assert!(without_markers(&once).len() <= without_markers(text).len(), "{text:?} grew to {once:?}");
    let (ids, hasher) = user_ids();
    let tokenized = ids.tokenize(text, hasher).into_owned();
    assert_eq!(ids.tokenize(&tokenized, hasher), tokenized.as_str(), "tokenizing not idempotent on {text:?}");
    let mut as_text = String::new();
    let text_scrubbed = s.scrub_json_text(text, &mut as_text);
    assert_eq!(
        text_scrubbed.is_ok(),
        serde_json::from_str::<serde_json::Value>(text).is_ok(),
        "JSON to one reader and not the other: {text:?}"
    );
    if let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) {
        s.scrub_value(&mut value);
        let from_text: serde_json::Value = serde_json::from_str(&as_text).expect("scrubbed JSON text is JSON");
        assert_eq!(from_text, value, "text and value scrubbing differ on {text:?}");
        let scrubbed = value.clone();
        s.scrub_value(&mut value);
        assert_eq!(value, scrubbed, "structured scrubbing not idempotent on {text:?}");
    }
});
