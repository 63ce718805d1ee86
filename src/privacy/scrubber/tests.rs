use std::borrow::Cow;
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::config::PrivacyConfig;

fn scrubber_from(yaml: &str) -> (Scrubber, Arc<Registry>) {
    let config: PrivacyConfig = serde_norway::from_str(yaml).unwrap();
    config.validate().unwrap();
    let registry = Registry::new();
    let s = Scrubber::new(&config.scrubbers, &ScrubMetrics::new(registry.clone()));
    (s, registry)
}

fn default_scrubber() -> Scrubber {
    scrubber_from("{}").0
}

#[test]
fn clean_text_is_borrowed() {
    let s = default_scrubber();
    let line = r#"2024-05-01T10:00:00Z INFO GET /courses/42/grades 200 12ms request_id=8f1c user=u_0011aabb"#;
    assert!(matches!(s.scrub(line), Cow::Borrowed(_)));
    assert!(matches!(s.scrub(""), Cow::Borrowed(_)));
    assert!(matches!(
        s.scrub("Élève inscrit au cours «Chimie» à 10:00"),
        Cow::Borrowed(_)
    ));
}

#[test]
fn each_default_scrubber_replaces_what_it_should() {
    let s = default_scrubber();
    let cases = [
        (
            "login failed for jane.doe+lms@uni.example.edu",
            "login failed for [email]",
        ),
        (
            "Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig",
            "Authorization: Bearer [redacted]",
        ),
        ("sent header bearer abc123", "sent header bearer [redacted]"),
        (
            r#"{"authorization": "Basic dXNlcjpwYXNz"}"#,
            r#"{"authorization": "Basic [redacted]"}"#,
        ),
        ("GET /api?api_key=abc123&x=1", "GET /api?api_key=[redacted]&x=1"),
        ("x-api-key: 0f9e8d7c", "x-api-key: [redacted]"),
        (
            "charging with sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "charging with [redacted]",
        ),
        (
            "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 used",
            "token [redacted] used",
        ),
        ("aws AKIAIOSFODNN7EXAMPLE key", "aws [redacted] key"),
        (
            "connect postgres://lms:s3cr3t@db:5432/lms",
            "connect postgres://lms:[redacted]@db:5432/lms",
        ),
        (
            "redis://:hunter2@cache:6379/0 down",
            "redis://:hunter2@cache:6379/0 down",
        ),
        ("db_password=hunter2 host=db", "db_password=[redacted] host=db"),
        (
            r#"{"password": "hun\"ter2", "user": "x"}"#,
            r#"{"password": "[redacted]", "user": "x"}"#,
        ),
        ("secret: 'abc def'", "secret: '[redacted]'"),
        (
            "Cookie: sessionid=abc123; csrftoken=zz9",
            "Cookie: sessionid=[redacted]; csrftoken=[redacted]",
        ),
        ("paid with 4111 1111 1111 1111 today", "paid with [card] today"),
        ("paid with 5555-5555-5555-4444.", "paid with [card]."),
        ("amex 378282246310005", "amex [card]"),
    ];
    for (input, want) in cases {
        assert_eq!(s.scrub(input), want, "{input}");
    }
}

/// Found by the `scrub` fuzz target: scrubbing an address completed a
/// `user:password@` match before it, so a second scrub changed the text.
#[test]
fn a_replacement_that_completes_another_match_is_scrubbed_at_once() {
    let s = default_scrubber();
    let text = "tps://_\0a@b.eu:p@\0 u:p@h/ x";
    let once = s.scrub(text).into_owned();
    assert_eq!(once, "tps://_\0[email]:[redacted]@\0 u:p@h/ x");
    assert_eq!(s.scrub(&once), once.as_str());
}

#[test]
fn lookalikes_are_kept() {
    let s = default_scrubber();
    for kept in [
        // Luhn-invalid: an order id of card length.
        "order 4111111111111112 shipped",
        // Starts with 1: a nanosecond timestamp.
        "ts=1714557600000000000",
        // Longer than any card number.
        "id 41111111111111111111111 x",
        "max_tokens=5 session_count=3",
        "token expired for user u_00aa",
        "basic authentication failed",
        "see https://lms.example/courses/1",
        "10.0.0.1 GET /",
    ] {
        assert!(
            matches!(s.scrub(kept), Cow::Borrowed(_)),
            "{kept} → {}",
            s.scrub(kept)
        );
    }
}

#[test]
fn disabled_builtin_and_enabled_ip_and_custom() {
    let (s, registry) = scrubber_from(
        r#"scrubbers:
  disable: [email]
  enable: [ip_address]
  custom:
    - {name: student, regex: 'student=(?P<value>S\d{7})', replacement: '[student]'}
    - {name: phone, regex: '\+44 ?\d{10}'}"#,
    );
    assert_eq!(s.scrub("mail a@b.example"), "mail a@b.example");
    assert_eq!(
        s.scrub("from 192.168.1.20 and 2001:db8::8a2e:370:7334"),
        "from [ip] and [ip]"
    );
    assert_eq!(s.scrub("fe80::1 ::"), "[ip] ::");
    assert_eq!(s.scrub("student=S1234567 ok"), "student=[student] ok");
    assert_eq!(s.scrub("call +44 7700900123"), "call [redacted]");
    assert_eq!(s.scrub("at 12:30:45 on 2024-05-01"), "at 12:30:45 on 2024-05-01");
    let text = registry.render();
    assert!(
        text.contains(r#"belfry_privacy_scrubbed_total{scrubber="student"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"belfry_privacy_scrubbed_total{scrubber="ip_address"} 3"#),
        "{text}"
    );
}

#[test]
fn structured_values_are_scrubbed() {
    let (s, registry) = scrubber_from("scrubbers: {sensitive_keys: [ssn]}");
    let mut v = json!({
        "headers": {"Cookie": "a=b", "X-Api-Key": "k", "Accept": "text/html", "Set-Cookie": ["x"]},
        "vars": {"password": "hunter2", "user_password": 12345, "note": "mail me at a@b.example", "empty": null},
        "card": 4111111111111111u64,
        "count": 4111111111111112u64,
        "Student-SSN": "123-45-6789",
        "list": ["Bearer abcdef", 7, true],
    });
    s.scrub_value(&mut v);
    assert_eq!(
        v,
        json!({
            "headers": {"Cookie": "[redacted]", "X-Api-Key": "[redacted]", "Accept": "text/html", "Set-Cookie": "[redacted]"},
            "vars": {"password": "[redacted]", "user_password": "[redacted]", "note": "mail me at [email]", "empty": null},
            "card": "[card]",
            "count": 4111111111111112u64,
            "Student-SSN": "[redacted]",
            "list": ["Bearer [redacted]", 7, true],
        })
    );
    let before = v.clone();
    s.scrub_value(&mut v);
    assert_eq!(v, before, "scrubbing twice changes nothing");
    assert!(
        registry
            .render()
            .contains(r#"belfry_privacy_scrubbed_total{scrubber="sensitive_key"} 6"#)
    );
}

#[test]
fn structured_keys_kept_when_secret_pair_is_off() {
    let (s, _) = scrubber_from("scrubbers: {disable: [secret_pair]}");
    let mut v = json!({"password": "x"});
    s.scrub_value(&mut v);
    assert_eq!(v, json!({"password": "x"}));
}

/// Text with every default marker removed.
fn without_markers(s: &str) -> String {
    s.replace("[redacted]", "")
        .replace("[email]", "")
        .replace("[card]", "")
}

/// A Luhn-valid number of `len` digits starting with `first`.
fn card_number(first: u8, body: &[u8], len: usize) -> String {
    let mut digits: Vec<u8> = std::iter::once(first)
        .chain(body.iter().map(|d| d % 10))
        .take(len - 1)
        .collect();
    while digits.len() < len - 1 {
        digits.push(0);
    }
    for check in 0..10 {
        let candidate: String = digits
            .iter()
            .chain(std::iter::once(&check))
            .map(|d| char::from(b'0' + d))
            .collect();
        if luhn_valid(&candidate) {
            return candidate;
        }
    }
    unreachable!("one check digit always fits")
}

fn separated(number: &str, sep: &str) -> String {
    number
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(sep)
}

const PIECES: &[&str] = &[
    "a@b.example",
    "password=x",
    "\"token\": \"y\"",
    "Bearer zz",
    "Authorization: ",
    "https://u:p@h/",
    "api_key=",
    "4111 1111 1111 1111",
    "[redacted]",
    "[card]",
    " ",
    "=",
    ":",
    "\"",
    "é",
    "@",
];

fn messy_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(PIECES).prop_map(str::to_string),
            "[ -~]{0,12}",
            "[0-9 -]{0,20}",
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn scrubbing_is_idempotent(text in messy_text()) {
        let s = default_scrubber();
        let once = s.scrub(&text).into_owned();
        prop_assert_eq!(s.scrub(&once).into_owned(), once.clone());
    }

    #[test]
    fn scrubbing_only_shortens_besides_markers(text in messy_text()) {
        let s = default_scrubber();
        let out = s.scrub(&text);
        prop_assert!(without_markers(&out).len() <= without_markers(&text).len(), "{} → {}", text, out);
    }

    #[test]
    fn card_numbers_are_always_scrubbed(
        first in 2u8..=6,
        body in prop::collection::vec(0u8..10, 20),
        len in 13usize..=19,
        sep in prop::sample::select(&["", " ", "-"][..]),
        before in "[a-z :=]{0,10}",
        after in "[a-z :.]{0,10}",
    ) {
        let s = default_scrubber();
        let number = separated(&card_number(first, &body, len), sep);
        let text = format!("{before} {number} {after}");
        let out = s.scrub(&text);
        prop_assert!(out.contains("[card]"), "{} → {}", text, out);
        prop_assert!(!out.contains(&number));
    }

    #[test]
    fn luhn_invalid_numbers_are_kept(
        first in 2u8..=6,
        body in prop::collection::vec(0u8..10, 20),
        len in 13usize..=19,
        bump in 1u8..10,
    ) {
        let s = default_scrubber();
        let valid = card_number(first, &body, len);
        let mut bytes = valid.into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = b'0' + (bytes[last] - b'0' + bump) % 10;
        let invalid = String::from_utf8(bytes).unwrap();
        prop_assert!(!luhn_valid(&invalid));
        let text = format!("order {invalid} shipped");
        prop_assert_eq!(s.scrub(&text), text.as_str());
    }
}

/// Found by the `scrub` fuzz target: adversarial text whose replacements
/// keep completing new matches for five passes.
#[test]
fn chained_matches_settle() {
    let s = default_scrubber();
    let data = include_bytes!("../../../tests/fixtures/privacy/scrub_settles_in_six_passes.bin");
    let text = String::from_utf8_lossy(data);
    let once = s.scrub(&text).into_owned();
    assert_eq!(s.scrub(&once), once.as_str());
}
