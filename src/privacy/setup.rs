//! Everything privacy needs at start-up in one step: the key (configured
//! or from the data directory), the hasher built on it and the scrubber
//! built from the configuration, for logs and errors to share.

use std::path::Path;
use std::sync::Arc;

use crate::config::PrivacyConfig;
use crate::selfmetrics::Registry;

use super::{PrivacyError, ScrubMetrics, Scrubber, UserIdHasher, UserIdKey, UserIdsInText};

#[derive(Clone, Debug)]
pub struct Privacy {
    pub hasher: UserIdHasher,
    pub scrubber: Arc<Scrubber>,
    pub user_ids_in_text: Arc<UserIdsInText>,
}

impl Privacy {
    /// `config` must be validated. Blocking file I/O (the key file): call
    /// at start-up or from `spawn_blocking`.
    pub fn open(
        config: &PrivacyConfig,
        data_dir: &Path,
        registry: Arc<Registry>,
    ) -> Result<Self, PrivacyError> {
        let key = UserIdKey::load_or_create(config.user_id_key.as_ref(), data_dir)?;
        let metrics = ScrubMetrics::new(registry);
        Ok(Privacy {
            hasher: UserIdHasher::new(&key),
            scrubber: Arc::new(Scrubber::new(&config.scrubbers, &metrics)),
            user_ids_in_text: Arc::new(UserIdsInText::new(&metrics)),
        })
    }

    /// What free text keeps: user ids in `key=value` pairs become tokens,
    /// then the scrubbers run. True when it changed.
    pub fn clean_text(&self, text: &mut String) -> bool {
        let tokenized = self.user_ids_in_text.tokenize_string(text, &self.hasher);
        self.scrubber.scrub_string(text) || tokenized
    }

    /// [`Privacy::clean_text`] over every string of `map`, with the
    /// structured scrubber's rules for sensitive keys.
    pub fn clean_map(&self, map: &mut serde_json::Map<String, serde_json::Value>) {
        self.user_ids_in_text.tokenize_map(map, &self.hasher);
        self.scrubber.scrub_map(map);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_per_data_dir_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let config = PrivacyConfig::default();
        let a = Privacy::open(&config, dir.path(), Registry::new()).unwrap();
        let b = Privacy::open(&config, dir.path(), Registry::new()).unwrap();
        assert_eq!(a.hasher.token("42"), b.hasher.token("42"));
        assert_eq!(a.scrubber.scrub("mail a@b.example"), "mail [email]");
        let other = tempfile::tempdir().unwrap();
        let c = Privacy::open(&config, other.path(), Registry::new()).unwrap();
        assert_ne!(a.hasher.token("42"), c.hasher.token("42"));
    }
}
