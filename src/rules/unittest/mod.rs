//! `belfry test rules`: rule unit tests in `promtool test rules` format —
//! input series, rule evaluation at `evaluation_interval`, expected
//! alerts and expected PromQL results — with promtool's outcomes; and for
//! LogQL groups, input log lines and expected LogQL results.

mod error;
mod format;
pub mod histogram_notation;
mod input_logs;
mod run;
pub mod series;

use std::fmt::Write as _;
use std::path::PathBuf;

pub use error::UnitTestError;
pub use run::run_test_file;

/// Options of `belfry test rules`.
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// Only test groups whose name matches one of these regexes (`--run`).
    pub run: Vec<String>,
    /// Skip unknown keys in rule files (`--ignore-unknown-fields`).
    pub ignore_unknown_fields: bool,
    /// Allow the `@` modifier (promtool's `promql-at-modifier` feature).
    pub enable_at_modifier: bool,
    /// Allow negative offsets (promtool's `promql-negative-offset` feature).
    pub enable_negative_offset: bool,
}

impl TestOptions {
    /// What `belfry test rules` uses: PromQL as Prometheus 3 accepts it.
    pub fn prometheus3() -> Self {
        TestOptions {
            enable_at_modifier: true,
            enable_negative_offset: true,
            ..Default::default()
        }
    }
}

/// The outcome of one test file.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub path: PathBuf,
    /// Problems that stopped the file (unreadable, bad rules, bad series).
    pub errors: Vec<String>,
    /// (test group name, failure messages) for each failing group.
    pub failures: Vec<(String, Vec<String>)>,
}

impl FileReport {
    pub fn passed(&self) -> bool {
        self.errors.is_empty() && self.failures.is_empty()
    }
}

/// The outcome of `test rules` over several files.
#[derive(Debug, Clone, Default)]
pub struct TestReport {
    pub files: Vec<FileReport>,
}

impl TestReport {
    pub fn passed(&self) -> bool {
        self.files.iter().all(FileReport::passed)
    }

    /// 0 when every test passed, 1 otherwise (as promtool).
    pub fn exit_code(&self) -> i32 {
        if self.passed() { 0 } else { 1 }
    }

    /// Human-readable output in promtool's layout.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let _ = writeln!(out, "Unit Testing:  {}", f.path.display());
            if f.passed() {
                let _ = writeln!(out, "  SUCCESS\n");
                continue;
            }
            let _ = writeln!(out, "  FAILED:");
            for e in &f.errors {
                let _ = writeln!(out, "    {e}");
            }
            for (name, msgs) in &f.failures {
                if !name.is_empty() {
                    let _ = writeln!(out, "    name: {name},");
                }
                for m in msgs {
                    let _ = writeln!(out, "{m}");
                }
            }
            out.push('\n');
        }
        out
    }
}

/// Runs every test file.
pub fn test_rules(paths: &[PathBuf], opts: &TestOptions) -> TestReport {
    TestReport {
        files: paths.iter().map(|p| run_test_file(p, opts)).collect(),
    }
}
