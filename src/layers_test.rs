//! Holds the layer table of `ARCHITECTURE.md` against the code: every
//! top-level module of the library sits in one layer of that table, and a
//! module names another (`crate::other::…`, or `super::` paths that climb
//! to the crate root) only when the other sits in a lower layer. Modules of
//! one layer are siblings and never import each other, so each can be read,
//! tested and replaced without the others.
//!
//! The table is read from `ARCHITECTURE.md` itself, between the
//! `<!-- layers:begin -->` and `<!-- layers:end -->` markers, so the map and
//! this test cannot drift apart: a new module fails here until the map says
//! where it lives.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const BEGIN: &str = "<!-- layers:begin -->";
const END: &str = "<!-- layers:end -->";

/// Module name → layer number, from the Markdown table: each row's first
/// cell is the layer number, the second lists the modules as `` `name` ``.
fn layer_table(markdown: &str) -> BTreeMap<String, u32> {
    let start = markdown
        .find(BEGIN)
        .expect("ARCHITECTURE.md has no layers:begin marker");
    let end = markdown
        .find(END)
        .expect("ARCHITECTURE.md has no layers:end marker");
    let mut layers = BTreeMap::new();
    for row in markdown[start..end].lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let Some(Ok(layer)) = cells.get(1).map(|c| c.parse::<u32>()) else {
            continue; // the header and the separator row
        };
        for module in cells[2].split('`').skip(1).step_by(2) {
            let previous = layers.insert(module.to_string(), layer);
            assert!(
                previous.is_none(),
                "`{module}` is listed twice in the layer table"
            );
        }
    }
    layers
}

/// The library's top-level modules, from `pub mod x;` / `mod x;` lines of
/// `lib.rs` (test-only modules such as this one excluded).
fn top_level_modules(lib_rs: &str) -> BTreeSet<String> {
    let mut modules = BTreeSet::new();
    let mut test_only = false;
    for line in lib_rs.lines().map(str::trim) {
        if line == "#[cfg(test)]" {
            test_only = true;
            continue;
        }
        let declared = line
            .strip_prefix("pub mod ")
            .or_else(|| line.strip_prefix("mod "))
            .and_then(|rest| rest.strip_suffix(';'));
        if let Some(name) = declared
            && !test_only
        {
            modules.insert(name.to_string());
        }
        test_only = false;
    }
    modules
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file below `src/`: `tsdb/head/mod.rs` →
/// `[tsdb, head]`, `tsdb/db.rs` → `[tsdb, db]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let file = parts.pop().unwrap_or_default();
    let stem = file.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// Macros exported at the crate root (`#[macro_export]`) are named
/// `crate::name` although they live in a module: name → that module.
fn exported_macros(files: &[(Vec<String>, String)]) -> BTreeMap<String, String> {
    let mut macros = BTreeMap::new();
    for (path, text) in files {
        let mut exported = false;
        for line in text.lines().map(str::trim) {
            if line == "#[macro_export]" {
                exported = true;
                continue;
            }
            if exported && let Some(rest) = line.strip_prefix("macro_rules! ") {
                let name: String = rest.chars().take_while(|c| is_ident_char(*c)).collect();
                if let Some(module) = path.first() {
                    macros.insert(name, module.clone());
                }
            }
            // Other attributes may stand between `#[macro_export]` and the macro.
            exported &= line.starts_with("#[");
        }
    }
    macros
}

/// The code of a line without its `//` comment (doc comments included);
/// a `//` inside a string literal is rare enough in paths not to matter.
fn code_of(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The top-level items a line names from the crate root: the identifier
/// after each `crate::`, and after a run of `super::` that climbs from
/// `module` to the root.
fn root_items(line: &str, module: &[String]) -> Vec<String> {
    let mut items = Vec::new();
    let code = code_of(line);
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let preceded_by_ident = rest[..i].chars().next_back().is_some_and(is_ident_char);
        let after = &rest[i + "crate::".len()..];
        if !preceded_by_ident {
            items.push(after.chars().take_while(|c| is_ident_char(*c)).collect());
        }
        rest = after;
    }
    let mut rest = code;
    while let Some(i) = rest.find("super::") {
        let preceded_by_ident = rest[..i].chars().next_back().is_some_and(is_ident_char);
        let mut after = &rest[i..];
        let mut depth = 0;
        while let Some(next) = after.strip_prefix("super::") {
            depth += 1;
            after = next;
        }
        // `super` from a file's module climbs from its parent; a `mod.rs`
        // or a leaf file both have `module` as their own path.
        if !preceded_by_ident && depth >= module.len() {
            items.push(after.chars().take_while(|c| is_ident_char(*c)).collect());
        }
        rest = after;
    }
    items
}

/// The name of an inline module a line opens at the file's top level
/// (`mod tests {`, `pub(crate) mod x {`).
fn inline_module_opened(line: &str) -> Option<String> {
    let rest = line
        .strip_prefix("pub(crate) mod ")
        .or_else(|| line.strip_prefix("pub mod "))
        .or_else(|| line.strip_prefix("mod "))?;
    let name = rest.strip_suffix('{')?.trim();
    name.chars().all(is_ident_char).then(|| name.to_string())
}

#[test]
fn modules_import_only_from_lower_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("read ARCHITECTURE.md");
    let layers = layer_table(&map);
    let src = root.join("src");
    let lib_rs = std::fs::read_to_string(src.join("lib.rs")).expect("read src/lib.rs");
    let modules = top_level_modules(&lib_rs);

    let unplaced: Vec<&String> = modules.iter().filter(|m| !layers.contains_key(*m)).collect();
    assert!(
        unplaced.is_empty(),
        "modules {unplaced:?} are in src/lib.rs but not in the layer table of ARCHITECTURE.md"
    );
    let stale: Vec<&String> = layers.keys().filter(|m| !modules.contains(*m)).collect();
    assert!(
        stale.is_empty(),
        "the layer table lists {stale:?}, which src/lib.rs does not declare"
    );

    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    let files: Vec<(Vec<String>, String)> = paths
        .iter()
        .map(|p| {
            let relative = p.strip_prefix(&src).expect("below src");
            let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
            (module_path(relative), text)
        })
        .collect();
    let macros = exported_macros(&files);

    let mut violations = Vec::new();
    for ((path, text), file) in files.iter().zip(&paths) {
        let Some(own) = path.first() else {
            continue; // lib.rs: the crate root declares everything
        };
        let Some(&own_layer) = layers.get(own) else {
            continue; // a test-only module at the root, such as this file
        };
        // A module written inline at the top of the file (`mod tests {`)
        // is one level deeper for its `super::` paths.
        let mut inline = path.clone();
        for (n, line) in text.lines().enumerate() {
            if let Some(name) = inline_module_opened(line) {
                inline = path.clone();
                inline.push(name);
            } else if line.starts_with('}') {
                inline = path.clone();
            }
            for item in root_items(line, &inline) {
                if item.is_empty() {
                    continue; // `use super::*;` reaching the root: lib.rs re-exports nothing
                }
                let target = macros.get(&item).unwrap_or(&item);
                if target == own {
                    continue;
                }
                let verdict = match layers.get(target) {
                    Some(&layer) if layer < own_layer => continue,
                    Some(&layer) => format!("`{target}` is on layer {layer}, not below {own_layer}"),
                    None => format!("`crate::{item}` is not a module of the layer table"),
                };
                violations.push(format!("{}:{}: {own} → {verdict}", file.display(), n + 1));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports that break the layer table of ARCHITECTURE.md:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_reader_sees_paths_the_way_rust_resolves_them() {
    let file = module_path(Path::new("tsdb/head/appender.rs"));
    assert_eq!(file, ["tsdb", "head", "appender"]);
    assert_eq!(module_path(Path::new("tsdb/head/mod.rs")), ["tsdb", "head"]);
    assert_eq!(root_items("use crate::model::Labels;", &file), ["model"]);
    assert_eq!(
        root_items("use super::super::series::Series;", &file),
        Vec::<String>::new()
    );
    assert_eq!(
        root_items("use super::super::super::promql::Engine;", &file),
        ["promql"]
    );
    assert_eq!(
        root_items("// see crate::web for the routes", &file),
        Vec::<String>::new()
    );
    assert_eq!(
        root_items("let x = my_crate::thing;", &file),
        Vec::<String>::new()
    );
    assert_eq!(root_items("$crate::storage_suite!(x)", &file), ["storage_suite"]);
    assert_eq!(inline_module_opened("mod tests {").as_deref(), Some("tests"));
    assert_eq!(inline_module_opened("    mod nested {"), None);
    assert_eq!(inline_module_opened("mod tests;"), None);
    let table = layer_table(&format!(
        "{BEGIN}\n| layer | modules |\n|---|---|\n| 0 | `model`, `selfmetrics` |\n| 1 | `config` |\n{END}"
    ));
    assert_eq!(table["selfmetrics"], 0);
    assert_eq!(table["config"], 1);
    let lib = "pub mod a;\nmod b;\n#[cfg(test)]\nmod c_test;\npub fn f() {}\n";
    assert_eq!(top_level_modules(lib).into_iter().collect::<Vec<_>>(), ["a", "b"]);
}
