//! Every dependency `Cargo.toml` declares is used: a `[dependencies]`
//! entry by the library or the binary (`src/`), a `[dev-dependencies]`
//! entry by the tests or benchmarks (`src/`, `tests/`, `benches/`). An
//! unused dependency costs build time and audit surface, and goes unnoticed
//! because nothing fails; this test is what fails.
//!
//! "Used" means the crate's name appears as a path (`name::`), in a `use`
//! or as a macro (`name!`) outside comments — what `cargo machete` checks,
//! without installing it.

use std::path::Path;

/// Crates whose library name is not their package name with `-` → `_`.
const LIBRARY_NAMES: &[(&str, &str)] = &[("md-5", "md5")];

/// The package names of one `[section]` of a Cargo manifest.
fn declared(manifest: &str, section: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == section;
            continue;
        }
        if !inside || line.starts_with('#') {
            continue;
        }
        if let Some((name, _)) = line.split_once('=') {
            names.push(name.trim().to_string());
        }
    }
    names
}

fn library_name(package: &str) -> String {
    LIBRARY_NAMES
        .iter()
        .find(|(p, _)| *p == package)
        .map_or_else(|| package.replace('-', "_"), |(_, lib)| lib.to_string())
}

/// Whether `text` names crate `lib` in code.
fn names_crate(text: &str, lib: &str) -> bool {
    text.lines().any(|line| {
        let code = line.split("//").next().unwrap_or("");
        [format!("{lib}::"), format!("use {lib}"), format!("{lib}!")]
            .iter()
            .any(|needle| {
                code.match_indices(needle.as_str()).any(|(i, _)| {
                    // `not_md5::` must not count as `md5::`.
                    !code[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                })
            })
    })
}

fn sources(dirs: &[&Path]) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs")
                && let Ok(text) = std::fs::read_to_string(&path)
            {
                out.push(text);
            }
        }
    }
    let mut out = Vec::new();
    for dir in dirs {
        walk(dir, &mut out);
    }
    out
}

#[test]
fn every_declared_dependency_is_used() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("read Cargo.toml");
    let library = sources(&[&root.join("src")]);
    let everything = sources(&[&root.join("src"), &root.join("tests"), &root.join("benches")]);
    let mut unused = Vec::new();
    for (section, texts) in [("[dependencies]", &library), ("[dev-dependencies]", &everything)] {
        let names = declared(&manifest, section);
        assert!(
            !names.is_empty(),
            "Cargo.toml has no {section} entries: has its layout changed?"
        );
        for package in names {
            let lib = library_name(&package);
            if !texts.iter().any(|t| names_crate(t, &lib)) {
                unused.push(format!("{section} {package}"));
            }
        }
    }
    assert!(
        unused.is_empty(),
        "declared in Cargo.toml but used nowhere: {unused:?}"
    );
}

#[test]
fn the_check_tells_use_from_mention() {
    assert!(names_crate("use md5::{Digest, Md5};", "md5"));
    assert!(names_crate("    let x = serde_json::json!({});", "serde_json"));
    assert!(names_crate("tracing::info!(\"x\")", "tracing"));
    assert!(!names_crate("// anyhow::Result in a comment", "anyhow"));
    assert!(!names_crate("let a = not_md5::x;", "md5"));
    let manifest = "[package]\nname = \"x\"\n[dependencies]\n# why\na-b = \"1\"\nc = { version = \"2\" }\n[dev-dependencies]\nd = \"3\"\n";
    assert_eq!(declared(manifest, "[dependencies]"), ["a-b", "c"]);
    assert_eq!(declared(manifest, "[dev-dependencies]"), ["d"]);
    assert_eq!(library_name("md-5"), "md5");
    assert_eq!(library_name("tokio-util"), "tokio_util");
}
