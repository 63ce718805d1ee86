//! The web UI in a real browser: Debian's Chromium, headless, driven by
//! npm's `playwright-core` (tests/it/js/ui_pages.mjs and flows.mjs,
//! installed with `axe-core` by scripts/install-test-deps). The demo test
//! (demo.rs) calls [`run_in_browser`] against `belfry serve --demo`, so
//! every page and dashboard is seen on the synthetic LMS's data.
//!
//! The script signs in through the login form, follows an expired session
//! back to a deep page, imports dashboards through the import form, walks
//! the flows staff use (Explore queries, a log line's context, resolving
//! an error issue, a request id from an error to its logs, a silence made
//! from an alert and expired), then opens every page and every dashboard
//! the API lists in the light and dark themes at 1366×768 and 390×844.
//! Every panel of a built-in dashboard, those in collapsed rows included,
//! must draw data. Any console error, uncaught exception, CSP violation,
//! failed request, panel in error or serious or critical axe-core
//! violation fails the test with the page named, as do sideways scrolling
//! of the overview on a phone and a keyboard that cannot reach the search
//! (`/`) or the navigation (Tab, focus visible).
//!
//! Screenshots (`<page>-<light|dark>-<laptop|phone>.png`) are kept in
//! `ui-screenshots/` of the cargo target directory (`target/ui-screenshots/`
//! by default, `$CARGO_TARGET_DIR/ui-screenshots/` when that is set), for CI
//! to keep as artifacts and for a person to look at after every change to
//! a page.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const CHROMIUM: &str = "/usr/bin/chromium";

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/js")
}

/// `ui-screenshots/` beside the build's own directories: the parent of
/// the integration tests' scratch directory is the target directory,
/// wherever `CARGO_TARGET_DIR` put it.
fn screenshot_dir() -> PathBuf {
    match option_env!("CARGO_TARGET_TMPDIR").and_then(|t| Path::new(t).parent()) {
        Some(target) => target.join("ui-screenshots"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots"),
    }
}

/// What the browser test needs beyond Rust: node with the pinned
/// packages, and Debian's Chromium. A missing piece skips the browser
/// part with the reason, or fails it where `BELFRY_REQUIRE_PEERS` is set
/// (CI).
pub fn peers_missing() -> Option<String> {
    let mut missing = Vec::new();
    for module in ["playwright-core", "axe-core"] {
        if !js_dir().join("node_modules").join(module).is_dir() {
            missing.push(format!("npm's {module} (tests/it/js/node_modules)"));
        }
    }
    if !Path::new(CHROMIUM).is_file() {
        missing.push(CHROMIUM.to_string());
    }
    if Command::new("node").arg("--version").output().is_err() {
        missing.push("node".to_string());
    }
    if missing.is_empty() {
        return None;
    }
    let why = format!("{} not installed (scripts/install-test-deps)", missing.join(", "));
    if std::env::var_os("BELFRY_REQUIRE_PEERS").is_some() {
        panic!("BELFRY_REQUIRE_PEERS is set but {why}");
    }
    Some(why)
}

/// Runs ui_pages.mjs against the server at `base`, signing in as `user`;
/// panics with the script's report when anything failed. The caller
/// checks [`peers_missing`] first.
pub fn run_in_browser(base: &str, user: &str, password: &str) {
    let shots = screenshot_dir();
    // Last run's pictures would pass for this run's.
    let _ = std::fs::remove_dir_all(&shots);
    let started = Instant::now();
    let out = Command::new("node")
        .arg("ui_pages.mjs")
        .arg(base)
        .arg(user)
        .arg(password)
        .arg(&shots)
        .current_dir(js_dir())
        .output()
        .expect("run node");
    let report = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(
        stderr,
        "ui_pages.mjs ran {:.1} s, exit {:?}:\n{report}{errors}",
        started.elapsed().as_secs_f64(),
        out.status.code()
    );
    drop(stderr);
    assert!(
        out.status.success(),
        "the browser test failed (report above; screenshots in {})",
        shots.display()
    );
    assert!(
        report.contains("no failure"),
        "the browser test exited 0 without its summary line"
    );
}
