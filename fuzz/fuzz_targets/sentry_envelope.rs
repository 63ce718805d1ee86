//! Fuzzes what a Sentry SDK's request body goes through before storage:
//! the envelope splitter, then every event item's parsing, scrubbing and
//! grouping. It never panics; every item's payload lies inside the body;
//! a parsed event always has a 32-hex-digit id, a known level and, after
//! scrubbing, a user only as a token, and it is stored as JSON;
//! grouping always yields a 32-digit hash; and the envelope written back
//! out, every item with its explicit `length`, splits into the same
//! headers and payloads.

#![no_main]

use std::sync::{Arc, OnceLock};

use belfry::config::{ErrorScrubConfig, FingerprintRule, PrivacyConfig, Secret};
use belfry::errors::{Event, EventScrubber, LEVELS, envelope, errors_privacy_config, grouping};
use belfry::privacy::Privacy;
use libfuzzer_sys::fuzz_target;

fn scrubber() -> &'static EventScrubber {
    static SCRUBBER: OnceLock<EventScrubber> = OnceLock::new();
    SCRUBBER.get_or_init(|| {
        let logs = PrivacyConfig {
            user_id_key: Some(Secret::new("fuzz-key-0123456789abcdef")),
            ..Default::default()
        };
        let config = errors_privacy_config(&logs, &ErrorScrubConfig::default());
        let privacy = Privacy::open(&config, std::path::Path::new("."), belfry::selfmetrics::Registry::new())
            .expect("privacy from a configured key");
        EventScrubber::new(Some(Arc::clone(&privacy.scrubber)), privacy.hasher.clone())
    })
}

fn rules() -> &'static [FingerprintRule] {
    static RULES: OnceLock<Vec<FingerprintRule>> = OnceLock::new();
    RULES.get_or_init(|| {
        vec![FingerprintRule::parse("error.type:Operational* message:\"*timeout*\" -> db, {{ default }}").unwrap()]
    })
}

/// `env` written out again, each item with an explicit `length`.
fn write_back(env: &envelope::Envelope<'_>) -> Vec<u8> {
    let mut out = serde_json::to_vec(&env.header).unwrap();
    out.push(b'\n');
    for item in &env.items {
        let mut header = item.header.clone();
        header.insert("length".into(), item.payload.len().into());
        out.extend(serde_json::to_vec(&header).unwrap());
        out.push(b'\n');
        out.extend_from_slice(item.payload);
        out.push(b'\n');
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(env) = envelope::parse(data) else { return };
    let written = write_back(&env);
    let again = envelope::parse(&written).expect("a written-back envelope splits");
    assert_eq!(again.header, env.header);
    assert_eq!(again.items.len(), env.items.len());
    for (a, b) in again.items.iter().zip(&env.items) {
        assert_eq!((&a.item_type, a.payload), (&b.item_type, b.payload));
    }
    for item in env.items {
        let start = item.payload.as_ptr() as usize - data.as_ptr() as usize;
        assert!(start + item.payload.len() <= data.len());
        let Ok(mut event) = Event::parse(item.payload, env.header.get("event_id").and_then(|v| v.as_str()), 0.0) else {
            continue;
        };
        assert_eq!(event.event_id().len(), 32);
        assert!(LEVELS.contains(&event.level()));
        scrubber().scrub(&mut event);
        serde_json::from_slice::<serde_json::Value>(&event.to_json()).expect("a stored event is JSON");
        assert!(event.user_id().is_none_or(|u| u.len() == 18 && u.starts_with("u_")));
        let g = grouping::group(&event, rules());
        assert_eq!(g.hash.len(), 32);
    }
});
