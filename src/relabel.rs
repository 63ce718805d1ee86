//! Applying relabel rules to a label set, with Prometheus's semantics:
//! rules run in order, `keep`/`drop` (and their `*equal` forms) can drop the
//! set, and the regex always matches the whole joined value.

use md5::{Digest, Md5};

use crate::config::{RelabelAction, RelabelConfig};

use crate::model::is_legacy_label_name;
use crate::model::{Labels, LabelsBuilder};

/// The relabelled set, or `None` when a rule dropped it.
pub fn relabel(labels: &Labels, cfgs: &[RelabelConfig]) -> Option<Labels> {
    if cfgs.is_empty() {
        return Some(labels.clone());
    }
    let mut b = labels.builder();
    for cfg in cfgs {
        if !apply(cfg, &mut b) {
            return None;
        }
    }
    Some(b.build())
}

/// Applies one rule; false means "drop".
fn apply(cfg: &RelabelConfig, b: &mut LabelsBuilder) -> bool {
    let joined = cfg
        .source_labels
        .iter()
        .map(|name| b.get(name).unwrap_or(""))
        .collect::<Vec<_>>()
        .join(&cfg.separator);
    let re = cfg.regex.regex();
    match cfg.action {
        RelabelAction::Drop => return !re.is_match(&joined),
        RelabelAction::Keep => return re.is_match(&joined),
        RelabelAction::DropEqual => return b.get(&cfg.target_label).unwrap_or("") != joined,
        RelabelAction::KeepEqual => return b.get(&cfg.target_label).unwrap_or("") == joined,
        RelabelAction::Replace => {
            // No match means no change, as in Prometheus.
            let Some(caps) = re.captures(&joined) else {
                return true;
            };
            let mut target = String::new();
            caps.expand(&cfg.target_label, &mut target);
            if !is_legacy_label_name(&target) {
                return true;
            }
            let mut value = String::new();
            caps.expand(&cfg.replacement, &mut value);
            if value.is_empty() {
                b.del(&target);
            } else {
                b.set(&target, &value);
            }
        }
        RelabelAction::Lowercase => {
            b.set(&cfg.target_label, &joined.to_lowercase());
        }
        RelabelAction::Uppercase => {
            b.set(&cfg.target_label, &joined.to_uppercase());
        }
        RelabelAction::HashMod => {
            b.set(&cfg.target_label, &hash_mod(&joined, cfg.modulus).to_string());
        }
        RelabelAction::LabelMap => {
            // Iterate a snapshot: labels added here are not matched again.
            for l in b.build().iter() {
                if re.is_match(&l.name) {
                    let name = re.replace_all(&l.name, cfg.replacement.as_str());
                    b.set(&name, &l.value);
                }
            }
        }
        RelabelAction::LabelDrop => {
            b.retain(|l| !re.is_match(&l.name));
        }
        RelabelAction::LabelKeep => {
            b.retain(|l| re.is_match(&l.name));
        }
    }
    true
}

/// Prometheus's `hashmod`: the last 8 bytes of the MD5 of the value, read
/// big-endian, modulo `modulus` (validated non-zero at config load).
pub fn hash_mod(value: &str, modulus: u64) -> u64 {
    let digest = Md5::digest(value.as_bytes());
    let mut tail = [0u8; 8];
    tail.copy_from_slice(&digest[8..16]);
    u64::from_be_bytes(tail) % modulus.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(yaml: &str) -> Vec<RelabelConfig> {
        serde_norway::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
    }

    fn run(input: &[(&str, &str)], yaml: &str) -> Option<Labels> {
        relabel(&Labels::from_pairs(input), &rules(yaml))
    }

    fn labels(pairs: &[(&str, &str)]) -> Option<Labels> {
        Some(Labels::from_pairs(pairs))
    }

    const ABC: &[(&str, &str)] = &[("a", "foo"), ("b", "bar"), ("c", "baz")];

    #[test]
    fn replace_with_group_references() {
        let out = run(
            ABC,
            "- {source_labels: [a], regex: 'f(.*)', target_label: d, replacement: 'ch${1}-ch${1}'}",
        );
        assert_eq!(
            out,
            labels(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "choo-choo")])
        );
    }

    #[test]
    fn replace_chains_with_joined_sources() {
        let out = run(
            ABC,
            "- {source_labels: [a, b], regex: 'f(.*);(.*)r', target_label: a, replacement: 'b${1}${2}m'}\n\
             - {source_labels: [c, a], regex: '(b).*b(.*)ba(.*)', target_label: d, replacement: '$1$2$2$3'}",
        );
        assert_eq!(
            out,
            labels(&[("a", "boobam"), ("b", "bar"), ("c", "baz"), ("d", "boooom")])
        );
    }

    #[test]
    fn replace_is_anchored_and_skips_on_no_match() {
        let out = run(
            &[("a", "abc")],
            "- {source_labels: [a], regex: '.*(b).*', target_label: d}",
        );
        assert_eq!(out, labels(&[("a", "abc"), ("d", "b")]));
        let out = run(
            &[("a", "boo")],
            "- {source_labels: [a], regex: 'f', target_label: b, replacement: bar}",
        );
        assert_eq!(out, labels(&[("a", "boo")]));
    }

    #[test]
    fn replace_with_templated_target_and_empty_result() {
        let rule = "- {source_labels: [a], regex: 'some-([^-]+)-([^,]+)', target_label: '${1}', replacement: '${2}'}";
        assert_eq!(
            run(&[("a", "some-name-value")], rule),
            labels(&[("a", "some-name-value"), ("name", "value")])
        );
        // A missing group expands to "" and an empty value deletes the target.
        let rule = "- {source_labels: [a], regex: 'some-([^-]+)-([^,]+)', target_label: '${1}', replacement: '${3}'}";
        assert_eq!(
            run(&[("a", "some-name-value")], rule),
            labels(&[("a", "some-name-value")])
        );
        // A target that expands to an invalid name leaves the set unchanged.
        let rule = "- {source_labels: [a], regex: 'some-([^-]+)-([^,]+)', target_label: '${3}', replacement: '${1}'}";
        assert_eq!(
            run(&[("a", "some-name-0")], rule),
            labels(&[("a", "some-name-0")])
        );
        let out = run(
            &[("a", "x")],
            "- {source_labels: [a], regex: 'x', target_label: a, replacement: ''}",
        );
        assert_eq!(out, labels(&[]));
    }

    #[test]
    fn real_life_sd_tags() {
        let out = run(
            &[("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar")],
            "- {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)path:(/[^,]+).*', target_label: __metrics_path__, replacement: '${1}'}\n\
             - {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)job:([^,]+).*', target_label: job, replacement: '${1}'}\n\
             - {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)label:([^=]+)=([^,]+).*', target_label: '${1}', replacement: '${2}'}",
        );
        assert_eq!(
            out,
            labels(&[
                ("__meta_sd_tags", "path:/secret,job:some-job,label:foo=bar"),
                ("__metrics_path__", "/secret"),
                ("job", "some-job"),
                ("foo", "bar"),
            ])
        );
    }

    #[test]
    fn drop_and_keep() {
        assert_eq!(
            run(
                &[("a", "foo")],
                "- {source_labels: [a], regex: '.*o.*', action: drop}\n- {source_labels: [a], target_label: d}"
            ),
            None
        );
        assert_eq!(
            run(
                &[("a", "foo")],
                "- {source_labels: [a], regex: no-match, action: drop}"
            ),
            labels(&[("a", "foo")])
        );
        // Anchored: 'f|o' matches neither the whole of "foo".
        assert_eq!(
            run(
                &[("a", "foo")],
                "- {source_labels: [a], regex: 'f|o', action: drop}"
            ),
            labels(&[("a", "foo")])
        );
        assert_eq!(
            run(
                &[("a", "foo")],
                "- {source_labels: [a], regex: no-match, action: keep}"
            ),
            None
        );
        assert_eq!(
            run(
                &[("a", "foo")],
                "- {source_labels: [a], regex: 'f.*', action: keep}"
            ),
            labels(&[("a", "foo")])
        );
        // A missing source label is the empty string.
        assert_eq!(
            run(
                &[("a", "foo")],
                "- {source_labels: [zz], regex: '', action: keep}"
            ),
            labels(&[("a", "foo")])
        );
    }

    #[test]
    fn hashmod_matches_prometheus() {
        let out = run(
            ABC,
            "- {source_labels: [c], target_label: d, action: hashmod, modulus: 1000}",
        );
        assert_eq!(
            out,
            labels(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "976")])
        );
        let out = run(
            &[("a", "foo\nbar")],
            "- {source_labels: [a], target_label: b, action: hashmod, modulus: 1000}",
        );
        assert_eq!(out, labels(&[("a", "foo\nbar"), ("b", "734")]));
    }

    #[test]
    fn labelmap() {
        let out = run(
            &[("a", "foo"), ("b1", "bar"), ("b2", "baz")],
            "- {regex: '(b.*)', replacement: 'bar_${1}', action: labelmap}",
        );
        assert_eq!(
            out,
            labels(&[
                ("a", "foo"),
                ("b1", "bar"),
                ("b2", "baz"),
                ("bar_b1", "bar"),
                ("bar_b2", "baz")
            ])
        );
        let out = run(
            &[
                ("a", "foo"),
                ("__meta_my_bar", "aaa"),
                ("__meta_my_baz", "bbb"),
                ("__meta_other", "ccc"),
            ],
            "- {regex: '__meta_(my.*)', action: labelmap}",
        );
        assert_eq!(
            out,
            labels(&[
                ("a", "foo"),
                ("__meta_my_bar", "aaa"),
                ("__meta_my_baz", "bbb"),
                ("__meta_other", "ccc"),
                ("my_bar", "aaa"),
                ("my_baz", "bbb"),
            ])
        );
    }

    #[test]
    fn labeldrop_and_labelkeep() {
        let input = &[("a", "foo"), ("b1", "bar"), ("b2", "baz")];
        assert_eq!(
            run(input, "- {regex: '(b.*)', action: labelkeep}"),
            labels(&[("b1", "bar"), ("b2", "baz")])
        );
        assert_eq!(
            run(input, "- {regex: '(b.*)', action: labeldrop}"),
            labels(&[("a", "foo")])
        );
    }

    #[test]
    fn labeldrop_then_replace_then_keep() {
        let out = run(
            &[("__meta_port_name", "foo"), ("__meta_metrics_port", "9091")],
            "- {regex: '^__meta_port_name$', action: labeldrop}\n\
             - {source_labels: [__meta_metrics_port], regex: '(.+)', target_label: __meta_port_name, replacement: metrics}\n\
             - {source_labels: [__meta_port_name], regex: '^metrics$', action: keep}",
        );
        assert_eq!(
            out,
            labels(&[("__meta_metrics_port", "9091"), ("__meta_port_name", "metrics")])
        );
    }

    #[test]
    fn lowercase_and_uppercase() {
        let out = run(
            &[("foo", "bAr123Foo")],
            "- {source_labels: [foo], target_label: foo_uppercase, action: uppercase}\n\
             - {source_labels: [foo], target_label: foo_lowercase, action: lowercase}",
        );
        assert_eq!(
            out,
            labels(&[
                ("foo", "bAr123Foo"),
                ("foo_lowercase", "bar123foo"),
                ("foo_uppercase", "BAR123FOO")
            ])
        );
    }

    #[test]
    fn keepequal_and_dropequal() {
        let input = &[("__tmp_port", "1234"), ("__port1", "1234"), ("__port2", "5678")];
        let keep1 = "- {source_labels: [__tmp_port], target_label: __port1, action: keepequal}";
        assert_eq!(run(input, keep1), labels(input));
        let drop1 = "- {source_labels: [__tmp_port], target_label: __port1, action: dropequal}";
        assert_eq!(run(input, drop1), None);
        let drop2 = "- {source_labels: [__tmp_port], target_label: __port2, action: dropequal}";
        assert_eq!(run(input, drop2), labels(input));
        let keep2 = "- {source_labels: [__tmp_port], target_label: __port2, action: keepequal}";
        assert_eq!(run(input, keep2), None);
    }

    #[test]
    fn no_rules_is_identity() {
        let l = Labels::from_pairs(ABC);
        assert_eq!(relabel(&l, &[]), Some(l));
    }
}
