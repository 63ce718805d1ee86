//! Metric metadata (`# TYPE`, `# HELP`, `# UNIT`) as last scraped from each
//! target, for `/api/v1/metadata`.

use std::collections::BTreeMap;

use crate::model::MetricType;

/// What a target said about one metric family.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct MetricMetadata {
    /// The family name.
    #[serde(skip)]
    pub metric: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub help: String,
    pub unit: String,
}

/// Collects metadata while a body is parsed.
#[derive(Default)]
pub struct MetadataBuilder {
    families: BTreeMap<String, MetricMetadata>,
}

impl MetadataBuilder {
    fn entry(&mut self, family: &str) -> &mut MetricMetadata {
        self.families
            .entry(family.to_string())
            .or_insert_with(|| MetricMetadata {
                metric: family.to_string(),
                kind: MetricType::Unknown.as_str().to_string(),
                help: String::new(),
                unit: String::new(),
            })
    }

    pub fn help(&mut self, family: &str, text: &str) {
        self.entry(family).help = text.to_string();
    }

    pub fn kind(&mut self, family: &str, kind: MetricType) {
        self.entry(family).kind = kind.as_str().to_string();
    }

    pub fn unit(&mut self, family: &str, unit: &str) {
        self.entry(family).unit = unit.to_string();
    }

    pub fn finish(self) -> Vec<MetricMetadata> {
        self.families.into_values().collect()
    }
}
