//! Alertmanager's integrations Belfry does not implement. The receiver
//! accepts their keys only so that loading refuses them by name, with the
//! list of supported ones, instead of serde's generic unknown-field error.

use serde::{Deserialize, Deserializer};

/// The receivers' integration keys Belfry implements, as errors list them.
pub const SUPPORTED: &str = "email_configs, webhook_configs, slack_configs, msteamsv2_configs, \
discord_configs, telegram_configs, pagerduty_configs";

/// Whether the key was present; its value is never looked at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unsupported(bool);

impl Unsupported {
    pub fn is_present(self) -> bool {
        self.0
    }
}

impl<'de> Deserialize<'de> for Unsupported {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(Unsupported(true))
    }
}
