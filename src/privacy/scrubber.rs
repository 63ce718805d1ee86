//! Text scrubbing: the enabled rules (built-ins, then the user's own)
//! behind one `RegexSet` pre-filter, so clean text — most log lines — costs
//! a single DFA pass and no allocation, and only the rules that matched run
//! their replacement.

use std::borrow::Cow;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use regex::{Regex, RegexSet};

use crate::config::{ScrubbersConfig, compile_custom};
use crate::selfmetrics::{Counter, Registry};

use super::builtin::{BUILTINS, Check, Needs, SENSITIVE_KEY_PARTS, TextFacts};
use super::luhn::luhn_valid;

/// Passes over dirty text at most. Real text settles in one or two;
/// fuzzed text with overlapping keys, quotes and URLs took six. A pass
/// only counts as a change when it replaced a span that was not already a
/// marker; the cap bounds the time adversarial text can take (past it the
/// text is scrubbed, but a further pass might still change it).
const MAX_PASSES: usize = 16;

/// The counter of replacements, per scrubber.
pub struct ScrubMetrics {
    registry: Arc<Registry>,
}

impl ScrubMetrics {
    pub fn new(registry: Arc<Registry>) -> Self {
        ScrubMetrics { registry }
    }

    pub(super) fn counter(&self, scrubber: &str) -> Arc<Counter> {
        self.registry
            .counter_vec(
                "belfry_privacy_scrubbed_total",
                "Values replaced by a privacy scrubber before storage, by scrubber.",
                &["scrubber"],
            )
            .with(&[scrubber])
    }
}

struct Rule {
    name: String,
    regex: Regex,
    marker: String,
    check: Check,
    /// What a text needs for the pattern to match (built-ins); `None`
    /// for the user's own patterns, which are always run.
    needs: Option<Needs>,
    /// Indexes of the groups named `value…`, in pattern order.
    value_groups: Vec<usize>,
    scrubbed: Arc<Counter>,
}

/// Built from a validated [`ScrubbersConfig`]; cheap to share (`Arc`).
pub struct Scrubber {
    prefilter: RegexSet,
    rules: Vec<Rule>,
    /// The parts of sensitive keys, lower-cased, `-` read as `_`: one
    /// automaton, because every key of every scrubbed JSON value is
    /// looked up (an error event has about a thousand).
    sensitive_keys: AhoCorasick,
    /// Whether values under sensitive keys are replaced whole (on with the
    /// `secret_pair` scrubber, which is the same idea in text).
    replace_sensitive: bool,
    cards_on: bool,
    sensitive_counter: Arc<Counter>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.rules.iter().map(|r| r.name.as_str()).collect();
        f.debug_struct("Scrubber").field("rules", &names).finish()
    }
}

impl Scrubber {
    /// `config` must have passed `PrivacyConfig::validate`; a pattern that
    /// does not compile here is a bug, so it panics with the name.
    pub fn new(config: &ScrubbersConfig, metrics: &ScrubMetrics) -> Self {
        let mut rules = Vec::new();
        for b in BUILTINS.iter().filter(|b| config.builtin_enabled(b.name)) {
            let regex = Regex::new(b.pattern).unwrap_or_else(|e| panic!("built-in scrubber {}: {e}", b.name));
            rules.push(Rule::new(
                b.name,
                regex,
                b.marker,
                b.check,
                Some(b.needs),
                metrics,
            ));
        }
        for c in &config.custom {
            let regex =
                compile_custom(&c.regex).unwrap_or_else(|e| panic!("validated scrubber {}: {e}", c.name));
            rules.push(Rule::new(
                &c.name,
                regex,
                &c.replacement,
                Check::Always,
                None,
                metrics,
            ));
        }
        let prefilter =
            RegexSet::new(rules.iter().map(|r| r.regex.as_str())).expect("each pattern compiled alone");
        let parts: Vec<String> = SENSITIVE_KEY_PARTS
            .iter()
            .map(|k| k.to_string())
            .chain(config.sensitive_keys.iter().map(|k| normalize_key(k.trim())))
            .filter(|k| !k.is_empty())
            .collect();
        let sensitive_keys = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::DFA))
            .build(&parts)
            .expect("a few short literal key parts");
        Scrubber {
            prefilter,
            rules,
            sensitive_keys,
            replace_sensitive: config.builtin_enabled("secret_pair") || !config.sensitive_keys.is_empty(),
            cards_on: config.builtin_enabled("card_number"),
            sensitive_counter: metrics.counter("sensitive_key"),
        }
    }

    /// `text` with every match of an enabled scrubber replaced by its
    /// marker; borrowed when nothing matched.
    ///
    /// One rule's replacement can complete another's match (an address
    /// turned into `[email]` no longer blocks the `user:password@` before
    /// it), so dirty text is scrubbed again until it stops changing, which
    /// keeps scrubbing idempotent.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = self.scrub_once(text);
        for _ in 1..MAX_PASSES {
            let Cow::Owned(current) = &out else { break };
            match self.scrub_once(current) {
                Cow::Borrowed(_) => break,
                Cow::Owned(next) => out = Cow::Owned(next),
            }
        }
        out
    }

    fn scrub_once<'a>(&self, text: &'a str) -> Cow<'a, str> {
        // `is_match` answers from one forward DFA scan without building
        // the per-pattern match set, which clean text — most text — never
        // needs; only dirty text pays for `matches`. Before it, one pass
        // over the bytes rules out text that lacks what every enabled
        // built-in needs (and there is no pattern of the user's own).
        let facts = TextFacts::of(text);
        if !self
            .rules
            .iter()
            .any(|r| r.needs.is_none_or(|n| n.may_match(text, &facts)))
        {
            return Cow::Borrowed(text);
        }
        if !self.prefilter.is_match(text) {
            return Cow::Borrowed(text);
        }
        let hits = self.prefilter.matches(text);
        let mut out = Cow::Borrowed(text);
        for i in hits.iter() {
            let replaced = match self.rules[i].apply(&out) {
                Cow::Owned(s) => Some(s),
                Cow::Borrowed(_) => None,
            };
            if let Some(s) = replaced {
                out = Cow::Owned(s);
            }
        }
        out
    }

    /// Scrubs `text` in place; true when it changed.
    pub fn scrub_string(&self, text: &mut String) -> bool {
        match self.scrub(text) {
            Cow::Borrowed(_) => false,
            Cow::Owned(new) => {
                let changed = new != *text;
                *text = new;
                changed
            }
        }
    }

    /// Whether values under `key` are replaced whole by the structured
    /// scrubber.
    pub fn is_sensitive_key(&self, key: &str) -> bool {
        if !self.replace_sensitive {
            return false;
        }
        // The common short key is normalized on the stack.
        let mut buf = [0u8; 48];
        let normalized: Cow<'_, [u8]> = match key.len() <= buf.len() {
            true => {
                for (b, k) in buf.iter_mut().zip(key.bytes()) {
                    *b = normalize_key_byte(k);
                }
                Cow::Borrowed(&buf[..key.len()])
            }
            false => Cow::Owned(key.bytes().map(normalize_key_byte).collect()),
        };
        self.sensitive_keys.is_match(normalized.as_ref())
    }

    pub(super) fn cards_on(&self) -> bool {
        self.cards_on
    }

    pub(super) fn count_sensitive(&self) {
        self.sensitive_counter.inc();
    }

    pub(super) fn count_card(&self) {
        if let Some(rule) = self.rules.iter().find(|r| r.check == Check::Luhn) {
            rule.scrubbed.inc();
        }
    }
}

/// One byte of a key as [`normalize_key`] turns it.
fn normalize_key_byte(b: u8) -> u8 {
    match b {
        b'-' => b'_',
        b => b.to_ascii_lowercase(),
    }
}

fn normalize_key(key: &str) -> String {
    key.to_ascii_lowercase().replace('-', "_")
}

impl Rule {
    fn new(
        name: &str,
        regex: Regex,
        marker: &str,
        check: Check,
        needs: Option<Needs>,
        metrics: &ScrubMetrics,
    ) -> Self {
        let value_groups = regex
            .capture_names()
            .enumerate()
            .filter(|(_, n)| n.is_some_and(|n| n.starts_with("value")))
            .map(|(i, _)| i)
            .collect();
        Rule {
            name: name.to_string(),
            regex,
            marker: marker.to_string(),
            check,
            needs,
            value_groups,
            scrubbed: metrics.counter(name),
        }
    }

    /// Borrowed when nothing was replaced (every match failed its check).
    fn apply<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = String::new();
        let mut copied = 0;
        let mut replaced = false;
        for caps in self.regex.captures_iter(text) {
            let whole = caps.get(0).expect("group 0 always takes part");
            let span = self
                .value_groups
                .iter()
                .find_map(|&i| caps.get(i))
                .unwrap_or(whole);
            // Already a marker (scrubbed text scrubbed again): nothing to do,
            // nothing to count.
            if span.as_str() == self.marker || (self.check == Check::Luhn && !luhn_valid(span.as_str())) {
                continue;
            }
            self.scrubbed.inc();
            if !replaced {
                out.reserve(text.len());
                replaced = true;
            }
            out.push_str(&text[copied..span.start()]);
            out.push_str(&self.marker);
            copied = span.end();
        }
        if !replaced {
            return Cow::Borrowed(text);
        }
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests;
