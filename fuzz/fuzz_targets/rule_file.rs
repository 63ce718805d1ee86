//! Fuzzes rule-file parsing (`parse_rules`, what `rule_files`, `belfry
//! check rules` and `belfry test rules` use), PromQL and LogQL groups
//! alike: it never panics; an error names the file and, where it has a
//! place, one inside the text; parsing is deterministic; and every rule
//! accepted has an expression its group's language accepts.

#![no_main]

use belfry::rules::{ParseOptions, parse_rules};
use libfuzzer_sys::fuzz_target;

const ORIGIN: &str = "fuzz.yml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for opts in [
        ParseOptions::default(),
        ParseOptions {
            ignore_unknown_fields: true,
        },
    ] {
        let result = parse_rules(text, ORIGIN, opts);
        let again = parse_rules(text, ORIGIN, opts);
        match (&result, &again) {
            (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}")),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!("parsing the same text twice gave different results"),
        }
        match result {
            Ok(file) => {
                for g in &file.groups {
                    for r in &g.rules {
                        assert!(
                            g.language.check_expr(&r.expr).is_ok(),
                            "accepted a rule its language refuses: {:?}",
                            r.expr
                        );
                    }
                }
            }
            Err(e) => {
                let message = e.to_string();
                assert!(message.starts_with(ORIGIN), "{message}");
            }
        }
    }
});
