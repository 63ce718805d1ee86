//! Fuzzes file service discovery's target-file parser
//! (`scrape::discovery::parse_groups`), JSON and YAML: it never panics; a
//! file it accepts yields groups that pass validation, carry
//! `__meta_filepath` and name their source; and writing those groups back
//! out as JSON and as YAML and parsing them again gives the same groups.

#![no_main]

use std::collections::BTreeMap;

use belfry::config::validate_group;
use belfry::scrape::discovery::{META_FILEPATH, TargetGroup, parse_groups};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const FILE: &str = "/etc/belfry/sd/fuzz";

/// The groups as a target file would hold them.
fn as_file_value(groups: &[TargetGroup]) -> serde_json::Value {
    groups
        .iter()
        .map(|g| {
            let labels: BTreeMap<&String, &String> =
                g.labels.iter().filter(|(k, _)| *k != META_FILEPATH).collect();
            json!({ "targets": g.targets, "labels": labels })
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&[flags], rest)) = data.split_first_chunk::<1>() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let is_json = flags & 1 == 1;
    let groups = match parse_groups(text, FILE, is_json) {
        Ok(groups) => groups,
        Err(error) => {
            let message = error.to_string();
            assert!(message.contains(FILE), "the error names the file: {message}");
            return;
        }
    };
    for (i, g) in groups.iter().enumerate() {
        assert_eq!(g.source, format!("{FILE}:{i}"));
        assert_eq!(g.labels.get(META_FILEPATH).map(String::as_str), Some(FILE));
        let mut own = g.labels.clone();
        own.remove(META_FILEPATH);
        assert_eq!(validate_group(&g.targets, &own), Ok(()));
    }

    let value = as_file_value(&groups);
    let json_text = serde_json::to_string(&value).expect("json");
    let again =
        parse_groups(&json_text, FILE, true).unwrap_or_else(|e| panic!("re-reading {json_text}: {e}"));
    assert_eq!(again, groups, "JSON round trip");
    let yaml_text = serde_norway::to_string(&value).expect("yaml");
    let again =
        parse_groups(&yaml_text, FILE, false).unwrap_or_else(|e| panic!("re-reading {yaml_text}: {e}"));
    assert_eq!(again, groups, "YAML round trip");
});
