//! Fuzzes the exposition parser in both formats: any input must end in
//! samples/metadata or one positioned error, never a panic or a hang, and
//! what it yields must keep the parser's promises.

#![no_main]

use belfry::exposition::{Entry, Format, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for format in [Format::PrometheusText, Format::OpenMetrics] {
        let mut errors = 0;
        for entry in Parser::new(data, format) {
            match entry {
                Ok(Entry::Sample(s)) => {
                    assert!(!s.name.is_empty());
                    for (i, (name, _)) in s.labels.iter().enumerate() {
                        assert!(!name.is_empty());
                        assert_ne!(name, "__name__");
                        assert!(
                            s.labels[..i].iter().all(|(other, _)| other != name),
                            "duplicate label"
                        );
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    errors += 1;
                    assert!(e.line >= 1 && e.column >= 1);
                    assert!(!e.to_string().is_empty());
                }
            }
        }
        assert!(errors <= 1, "the parser must stop after its first error");
    }
});
