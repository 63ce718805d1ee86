//! What a check finds, and the report of all of them: a readable text for
//! people, JSON for pipelines, and the exit code both act on.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// One check's outcome: a one-line summary, and one line per culprit (a
/// failing query, rule, target, integration) or per note.
#[derive(Clone, Debug, Serialize)]
pub struct CheckOutcome {
    pub check: &'static str,
    pub status: Status,
    pub summary: String,
    pub details: Vec<String>,
}

impl CheckOutcome {
    pub fn pass(check: &'static str, summary: impl Into<String>) -> Self {
        CheckOutcome {
            check,
            status: Status::Pass,
            summary: summary.into(),
            details: Vec::new(),
        }
    }

    pub fn fail(check: &'static str, summary: impl Into<String>) -> Self {
        CheckOutcome {
            status: Status::Fail,
            ..CheckOutcome::pass(check, summary)
        }
    }

    pub fn skip(check: &'static str, summary: impl Into<String>) -> Self {
        CheckOutcome {
            status: Status::Skip,
            ..CheckOutcome::pass(check, summary)
        }
    }

    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }
}

/// `1 target`, `2 targets`, `2 queries`.
pub fn count(n: usize, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {noun}s"),
    }
}

/// Every check's outcome, in the checklist's order.
pub struct Report {
    pub url: String,
    pub checks: Vec<CheckOutcome>,
}

/// A check failed.
pub const EXIT_FAILED: u8 = 1;
/// The checks could not run: the server is unreachable or refused the token.
pub const EXIT_CANNOT_RUN: u8 = 2;

impl Report {
    fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    pub fn passed(&self) -> bool {
        self.count(Status::Fail) == 0
    }

    pub fn exit_code(&self) -> u8 {
        if self.passed() { 0 } else { EXIT_FAILED }
    }

    pub fn text(&self) -> String {
        let mut out = format!("belfry verify {}\n", self.url);
        let width = self.checks.iter().map(|c| c.check.len()).max().unwrap_or(0);
        for c in &self.checks {
            let _ = writeln!(out, "{}  {:width$}  {}", c.status.word(), c.check, c.summary);
            for d in &c.details {
                let mut lines = d.lines();
                if let Some(first) = lines.next() {
                    let _ = writeln!(out, "        - {first}");
                }
                for more in lines {
                    let _ = writeln!(out, "          {more}");
                }
            }
        }
        let _ = writeln!(
            out,
            "{}: {} passed, {} failed, {} skipped",
            if self.passed() { "PASS" } else { "FAIL" },
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::Skip),
        );
        out
    }

    pub fn json(&self) -> Value {
        json!({
            "url": self.url,
            "ok": self.passed(),
            "passed": self.count(Status::Pass),
            "failed": self.count(Status::Fail),
            "skipped": self.count(Status::Skip),
            "checks": self.checks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_fails_the_report_and_skips_do_not() {
        let mut report = Report {
            url: "http://b".into(),
            checks: vec![
                CheckOutcome::pass("targets", "2 targets up"),
                CheckOutcome::skip("receivers", "pass --send-test"),
            ],
        };
        assert_eq!(report.exit_code(), 0);
        assert!(report.text().contains("PASS: 1 passed, 0 failed, 1 skipped"));
        report.checks.push(
            CheckOutcome::fail("rules", "1 rule failed")
                .with_details(vec!["group g: rule R: bad\n    query: x".into()]),
        );
        assert_eq!(report.exit_code(), EXIT_FAILED);
        let text = report.text();
        assert!(
            text.contains(
                "FAIL  rules      1 rule failed\n        - group g: rule R: bad\n              query: x\n"
            ),
            "{text}"
        );
        let json = report.json();
        assert_eq!(json["ok"], false);
        assert_eq!(json["checks"][2]["status"], "fail");
        assert_eq!(
            json["checks"][2]["details"][0],
            "group g: rule R: bad\n    query: x"
        );
    }
}
