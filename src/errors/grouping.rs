//! Which issue an event belongs to, in Sentry's order: the event's own
//! `fingerprint` (`{{ default }}` standing for the default grouping);
//! else the first configured fingerprint rule that matches; else the
//! exception chain — each exception's type and its in-app frames' module
//! and function (every frame when none is in-app; never line numbers, so
//! an edit above the crash keeps the issue); else the log message with its
//! variable parts (numbers, ids, hex, UUIDs, e-mail and IP addresses)
//! replaced. The parts are hashed into the group key.

use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};

use crate::config::{FingerprintMatcher, FingerprintRule};

use super::Event;

/// Longest title kept; Sentry cuts at about the same.
const TITLE_CHARS: usize = 120;

#[derive(Clone, Debug, PartialEq)]
pub struct Grouping {
    /// 32 hex digits of SHA-256 over the parts.
    pub hash: String,
    pub title: String,
    pub culprit: String,
    /// What decided the group: `fingerprint`, `rule`, `exception`,
    /// `message` or `fallback`.
    pub basis: &'static str,
}

pub fn group(event: &Event, rules: &[FingerprintRule]) -> Grouping {
    let (default_parts, default_basis) = default_parts(event);
    let (parts, basis, rule_title) = if let Some(fingerprint) = event.fingerprint() {
        (expand(&fingerprint, event, &default_parts), "fingerprint", None)
    } else if let Some(rule) = rules.iter().find(|r| rule_matches(r, event)) {
        (
            expand(&rule.fingerprint, event, &default_parts),
            "rule",
            rule.title.clone(),
        )
    } else {
        (default_parts, default_basis, None)
    };
    let mut hasher = Sha256::new();
    for p in &parts {
        hasher.update(p.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    Grouping {
        hash: digest[..16].iter().map(|b| format!("{b:02x}")).collect(),
        title: rule_title.unwrap_or_else(|| title(event)),
        culprit: culprit(event),
        basis,
    }
}

fn default_parts(event: &Event) -> (Vec<String>, &'static str) {
    let chain = event.exceptions();
    if !chain.is_empty() {
        let any_in_app = chain
            .iter()
            .flat_map(|e| &e.frames)
            .any(|f| f.in_app == Some(true));
        let any_frames = chain.iter().any(|e| !e.frames.is_empty());
        let mut parts = Vec::new();
        for e in &chain {
            parts.push(format!("type:{}", e.ty.unwrap_or("Error")));
            for f in e.frames.iter().filter(|f| !any_in_app || f.in_app == Some(true)) {
                let place = f
                    .module
                    .map(str::to_string)
                    .or_else(|| f.filename.map(normalize_path));
                parts.push(format!(
                    "frame:{}:{}",
                    place.unwrap_or_default(),
                    f.function.unwrap_or("?")
                ));
            }
            if !any_frames {
                parts.push(format!(
                    "value:{}",
                    normalize_message(e.value.unwrap_or_default())
                ));
            }
        }
        return (parts, "exception");
    }
    if let Some(message) = event.message() {
        return (vec![format!("message:{}", normalize_message(message))], "message");
    }
    (vec!["fallback".to_string()], "fallback")
}

/// A fingerprint's parts with its `{{ variables }}` filled in.
fn expand(fingerprint: &[String], event: &Event, default: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for part in fingerprint {
        let Some(name) = part
            .strip_prefix("{{")
            .and_then(|p| p.strip_suffix("}}"))
            .map(str::trim)
        else {
            out.push(format!("fp:{part}"));
            continue;
        };
        if name == "default" {
            out.extend(default.iter().cloned());
            continue;
        }
        out.push(format!(
            "var:{name}:{}",
            variable(event, name).unwrap_or_default()
        ));
    }
    out
}

fn variable(event: &Event, name: &str) -> Option<String> {
    let chain = event.exceptions();
    let top = chain.last();
    let top_frame = top.and_then(|e| {
        e.frames
            .iter()
            .rev()
            .find(|f| f.in_app == Some(true))
            .or(e.frames.last())
    });
    match name {
        "transaction" => event.transaction().map(str::to_string),
        "type" | "error.type" => top.and_then(|e| e.ty).map(str::to_string),
        "value" | "error.value" => top.and_then(|e| e.value).map(normalize_message),
        "function" | "stack.function" => top_frame.and_then(|f| f.function).map(str::to_string),
        "module" | "stack.module" => top_frame.and_then(|f| f.module).map(str::to_string),
        "package" | "stack.package" => top_frame.and_then(|f| f.package).map(str::to_string),
        "level" => Some(event.level().to_string()),
        "logger" => event.str("logger").map(str::to_string),
        "message" => event.message().map(normalize_message),
        tag => tag
            .strip_prefix("tags.")
            .and_then(|t| event.tag(t))
            .map(str::to_string),
    }
}

fn rule_matches(rule: &FingerprintRule, event: &Event) -> bool {
    rule.matchers.iter().all(|m| matcher_holds(m, event) != m.negated)
}

fn matcher_holds(m: &FingerprintMatcher, event: &Event) -> bool {
    let chain = event.exceptions();
    let frames = || chain.iter().flat_map(|e| &e.frames);
    let hit = |v: Option<&str>| v.is_some_and(|v| glob_match(&m.pattern, v));
    match m.key.as_str() {
        "type" => chain.iter().any(|e| hit(e.ty)),
        "value" => chain.iter().any(|e| hit(e.value)),
        "message" => hit(event.message()) || chain.iter().any(|e| hit(e.value)),
        "logger" => hit(event.str("logger")),
        "level" => hit(Some(event.level())),
        "release" => hit(event.release()),
        "environment" => hit(event.environment()),
        "transaction" => hit(event.transaction()),
        "function" => frames().any(|f| hit(f.function)),
        "module" => frames().any(|f| hit(f.module)),
        "path" => frames().any(|f| hit(f.abs_path) || hit(f.filename)),
        "package" => frames().any(|f| hit(f.package)),
        "app" => {
            let want = matches!(m.pattern.to_ascii_lowercase().as_str(), "yes" | "true" | "1");
            frames().any(|f| f.in_app.unwrap_or(false) == want)
        }
        key => key.strip_prefix("tags.").is_some_and(|t| hit(event.tag(t))),
    }
}

/// `*` any run, `?` one character, ASCII case ignored.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi].eq_ignore_ascii_case(&t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

static VARIABLE_PARTS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (
            r"(?i)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}",
            "<email>",
        ),
        (
            r"(?i)\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b",
            "<uuid>",
        ),
        (r"\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b", "<ip>"),
        (r"(?i)\b0x[0-9a-f]+\b", "<hex>"),
        (
            r"(?i)\b[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*\b",
            "<hex>",
        ),
        (r"[0-9]+(?:\.[0-9]+)?", "<num>"),
    ]
    .into_iter()
    .map(|(re, with)| (Regex::new(re).expect("grouping pattern"), with))
    .collect()
});

/// A message with what varies between occurrences replaced.
pub fn normalize_message(message: &str) -> String {
    let mut out = message.trim().to_string();
    for (re, with) in VARIABLE_PARTS.iter() {
        if re.is_match(&out) {
            out = re.replace_all(&out, *with).into_owned();
        }
    }
    out
}

/// A path without what differs between machines: the directories before
/// `site-packages`/`dist-packages`, a virtualenv's name.
fn normalize_path(path: &str) -> String {
    for marker in ["site-packages/", "dist-packages/"] {
        if let Some(i) = path.find(marker) {
            return path[i + marker.len()..].to_string();
        }
    }
    path.to_string()
}

fn title(event: &Event) -> String {
    let chain = event.exceptions();
    let text = if let Some(e) = chain.last() {
        let ty = e.ty.unwrap_or("Error");
        match e.value.map(first_line).filter(|v| !v.is_empty()) {
            Some(v) => format!("{ty}: {v}"),
            None => ty.to_string(),
        }
    } else if let Some(m) = event.message() {
        first_line(m).to_string()
    } else {
        "<unlabeled event>".to_string()
    };
    cut(&text, TITLE_CHARS)
}

/// Where it happened: the transaction, else the newest in-app frame of
/// the raised exception as `module in function`.
fn culprit(event: &Event) -> String {
    if let Some(t) = event.transaction() {
        return cut(t, TITLE_CHARS);
    }
    let chain = event.exceptions();
    let Some(e) = chain.last() else {
        return event
            .str("culprit")
            .map(|c| cut(c, TITLE_CHARS))
            .unwrap_or_default();
    };
    let frame = e
        .frames
        .iter()
        .rev()
        .find(|f| f.in_app == Some(true))
        .or(e.frames.last());
    match frame {
        Some(f) => {
            let place = f.module.or(f.filename).unwrap_or("?");
            cut(&format!("{place} in {}", f.function.unwrap_or("?")), TITLE_CHARS)
        }
        None => String::new(),
    }
}

fn first_line(s: &str) -> &str {
    s.trim().lines().next().unwrap_or_default()
}

fn cut(s: &str, chars: usize) -> String {
    match s.char_indices().nth(chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Event {
        Event::parse(json.as_bytes(), None, 0.0).unwrap()
    }

    fn exc(ty: &str, value: &str, lineno: u32, function: &str) -> String {
        format!(
            r#"{{"exception":{{"values":[{{"type":"{ty}","value":"{value}","stacktrace":{{"frames":[
              {{"module":"django.core","function":"handle","lineno":1,"in_app":false}},
              {{"module":"lms.grades","function":"{function}","lineno":{lineno},"in_app":true}}]}}}}]}}}}"#
        )
    }

    #[test]
    fn same_crash_same_group_whatever_the_line_and_value() {
        let a = group(&event(&exc("KeyError", "'x'", 10, "grade")), &[]);
        let b = group(&event(&exc("KeyError", "'y'", 99, "grade")), &[]);
        assert_eq!(a.hash, b.hash);
        assert_eq!(a.basis, "exception");
        assert_eq!(a.title, "KeyError: 'x'");
        assert_eq!(a.culprit, "lms.grades in grade");
        let c = group(&event(&exc("KeyError", "'x'", 10, "submit")), &[]);
        assert_ne!(a.hash, c.hash);
        let d = group(&event(&exc("ValueError", "'x'", 10, "grade")), &[]);
        assert_ne!(a.hash, d.hash);
    }

    #[test]
    fn messages_lose_their_variable_parts() {
        let a = group(
            &event(r#"{"message":"user 123 (a@b.example) failed 0xdeadbeef after 2.5s"}"#),
            &[],
        );
        let b = group(
            &event(r#"{"message":"user 77 (c@d.example) failed 0x1f after 9s"}"#),
            &[],
        );
        assert_eq!(a.hash, b.hash);
        assert_eq!(a.basis, "message");
        assert_eq!(
            normalize_message("job 3f2a9c0e-1b2c-4d5e-8f90-123456789abc took 12ms from 10.0.0.1"),
            "job <uuid> took <num>ms from <ip>"
        );
        assert_ne!(a.hash, group(&event(r#"{"message":"disk full"}"#), &[]).hash);
    }

    #[test]
    fn fingerprints_and_rules_come_first() {
        let fp = |f: &str| group(&event(&format!(r#"{{"fingerprint":{f},"message":"m 1"}}"#)), &[]);
        assert_eq!(fp(r#"["db"]"#).hash, fp(r#"["db"]"#).hash);
        assert_ne!(fp(r#"["db"]"#).hash, fp(r#"["cache"]"#).hash);
        assert_eq!(fp(r#"["db"]"#).basis, "fingerprint");
        // {{ default }} keeps the default grouping and refines it.
        let with_default = fp(r#"["{{ default }}", "x"]"#);
        assert_ne!(with_default.hash, group(&event(r#"{"message":"m 2"}"#), &[]).hash);
        assert_eq!(with_default.hash, fp(r#"["{{default}}", "x"]"#).hash);

        let rules = vec![
            FingerprintRule::parse("error.type:Operational* -> database-errors title=\"Database\"").unwrap(),
        ];
        let a = group(&event(&exc("OperationalError", "x", 1, "grade")), &rules);
        let b = group(&event(&exc("OperationalError", "y", 1, "submit")), &rules);
        assert_eq!(a.hash, b.hash);
        assert_eq!(a.basis, "rule");
        assert_eq!(a.title, "Database");
        let c = group(&event(&exc("KeyError", "y", 1, "submit")), &rules);
        assert_eq!(c.basis, "exception");
        let negated = vec![FingerprintRule::parse("!stack.function:grade -> not-grade").unwrap()];
        assert_eq!(group(&event(&exc("E", "v", 1, "submit")), &negated).basis, "rule");
        assert_eq!(
            group(&event(&exc("E", "v", 1, "grade")), &negated).basis,
            "exception"
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("*timeout*", "read TIMEOUT after 5s"));
        assert!(glob_match("Op?rational*", "OperationalError"));
        assert!(!glob_match("Op*x", "OperationalError"));
        assert!(glob_match("*", ""));
    }
}
