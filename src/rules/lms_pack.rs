//! The LMS rule pack (`rules/lms/`), compiled into the binary so the
//! embedded default configuration can load it without any files around.

use std::path::{Path, PathBuf};

/// The pack's rule file, byte for byte as in `rules/lms/lms.yml`.
pub const LMS_RULES_YAML: &str = include_str!("../../rules/lms/lms.yml");

/// Writes the pack under `<data_dir>/rules/lms.yml` (replacing an older copy,
/// so the pack always matches the binary) and returns the path for
/// `rule_files`. Rule files are loaded from disk like any other, so
/// `/api/v1/rules` names a file the operator can open.
pub fn install_lms_pack(data_dir: &Path) -> std::io::Result<PathBuf> {
    let dir = data_dir.join("rules");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("lms.yml");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(LMS_RULES_YAML) {
        std::fs::write(&path, LMS_RULES_YAML)?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_pack_checks_clean() {
        let dir = tempfile::tempdir().unwrap();
        let path = install_lms_pack(dir.path()).unwrap();
        let report = crate::rules::check_rules(&[path]);
        assert!(!report.has_errors(), "{}", report.render());
    }
}
