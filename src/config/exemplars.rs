//! `storage.exemplars`: how many exemplars the in-memory store keeps, as
//! Prometheus's `storage.exemplars.max_exemplars`.

use serde::Deserialize;

/// Prometheus's default once its exemplar storage is switched on.
pub const DEFAULT_MAX_EXEMPLARS: u64 = 100_000;

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExemplarsConfig {
    /// Exemplars held over all series; past it the oldest are overwritten.
    /// 0 keeps none. A reload resizes the store, keeping the newest.
    #[serde(default = "default_max_exemplars")]
    pub max_exemplars: u64,
}

impl Default for ExemplarsConfig {
    fn default() -> Self {
        ExemplarsConfig {
            max_exemplars: DEFAULT_MAX_EXEMPLARS,
        }
    }
}

fn default_max_exemplars() -> u64 {
    DEFAULT_MAX_EXEMPLARS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_exemplars_defaults_and_accepts_zero() {
        let empty: ExemplarsConfig = serde_norway::from_str("{}").unwrap();
        assert_eq!(empty.max_exemplars, 100_000);
        let off: ExemplarsConfig = serde_norway::from_str("max_exemplars: 0").unwrap();
        assert_eq!(off.max_exemplars, 0);
        let err = serde_norway::from_str::<ExemplarsConfig>("max_exemplars: -1").unwrap_err();
        assert!(err.to_string().contains("max_exemplars"), "{err}");
    }
}
