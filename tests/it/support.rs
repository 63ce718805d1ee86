//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The conformance corpus beside the checkout (`../shared/conformance`).
///
/// A user's clone has no `../shared`, so tests that need it skip with a
/// message; CI sets `BELFRY_REQUIRE_SHARED=1`, which turns the skip into a
/// failure so a missing corpus can never pass silently there.
#[allow(dead_code)]
pub fn shared_conformance_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("BELFRY_REQUIRE_SHARED").is_some() {
        panic!("BELFRY_REQUIRE_SHARED is set but {} is missing", dir.display());
    }
    eprintln!(
        "skipping: {} is absent (it sits beside the checkout in CI)",
        dir.display()
    );
    None
}
