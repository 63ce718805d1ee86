//! Everything privacy needs at start-up in one step: the key (configured
//! or from the data directory), the hasher built on it and the scrubber
//! built from the configuration, for logs and errors to share.

use std::path::Path;
use std::sync::Arc;

use crate::config::PrivacyConfig;
use crate::selfmetrics::Registry;

use super::{PrivacyError, ScrubMetrics, Scrubber, UserIdHasher, UserIdKey};

#[derive(Clone, Debug)]
pub struct Privacy {
    pub hasher: UserIdHasher,
    pub scrubber: Arc<Scrubber>,
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
        Ok(Privacy {
            hasher: UserIdHasher::new(&key),
            scrubber: Arc::new(Scrubber::new(&config.scrubbers, &ScrubMetrics::new(registry))),
        })
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
