//! One line as a pipeline sees it: its text and its labels. Stream labels
//! (`service`, `level`, the record's stream labels) are the line's label
//! set; the record's metadata (`request_id`, `user`, `path`, `status`,
//! `duration`) can be read by every stage but joins the label set only
//! when a stage makes it a label (`| keep`, `| label_format`).

use serde_json::{Map, Value};

use crate::logs::index::LogLine;
use crate::model::{Label, Labels};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Stream,
    Metadata,
    /// Added by a parser or a stage.
    Extracted,
}

#[derive(Debug, Clone, Default)]
pub struct LineLabels {
    items: Vec<(String, String, Origin)>,
}

pub const ERROR_LABEL: &str = "__error__";
pub const ERROR_DETAILS_LABEL: &str = "__error_details__";

/// The label names a record's metadata is read under.
pub const METADATA_LABELS: [&str; 5] = ["request_id", "user", "path", "status", "duration"];

impl LineLabels {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(n, ..)| n == name)
            .map(|(_, v, _)| v.as_str())
    }

    pub fn origin(&self, name: &str) -> Option<Origin> {
        self.items.iter().find(|(n, ..)| n == name).map(|(.., o)| *o)
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>, origin: Origin) {
        let value = value.into();
        match self.items.iter_mut().find(|(n, ..)| n == name) {
            Some(item) => {
                item.1 = value;
                item.2 = origin;
            }
            None => self.items.push((name.to_string(), value, origin)),
        }
    }

    /// A parser's label: one that would replace a stream label or the
    /// record's metadata is added with `_extracted` appended, as Loki does.
    pub fn set_extracted(&mut self, name: &str, value: impl Into<String>) {
        match self.origin(name) {
            Some(Origin::Stream | Origin::Metadata) => {
                self.set(&format!("{name}_extracted"), value, Origin::Extracted)
            }
            _ => self.set(name, value, Origin::Extracted),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.items.retain(|(n, ..)| n != name);
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str, Origin) -> bool) {
        self.items.retain(|(n, v, o)| keep(n, v, *o));
    }

    pub fn promote(&mut self, name: &str) {
        if let Some(item) = self.items.iter_mut().find(|(n, ..)| n == name)
            && item.2 == Origin::Metadata
        {
            item.2 = Origin::Extracted;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, Origin)> {
        self.items.iter().map(|(n, v, o)| (n.as_str(), v.as_str(), *o))
    }

    pub fn has_error(&self) -> bool {
        self.get(ERROR_LABEL).is_some_and(|e| !e.is_empty())
    }

    /// The label set the line is grouped under: everything but metadata
    /// not made a label, and without empty values.
    pub fn to_labels(&self) -> Labels {
        Labels::new(
            self.items
                .iter()
                .filter(|(_, v, o)| *o != Origin::Metadata && !v.is_empty())
                .map(|(n, v, _)| Label::new(n.clone(), v.clone()))
                .collect(),
        )
    }
}

/// A line read from the index, ready for a pipeline.
#[derive(Debug, Clone)]
pub struct PipelineLine {
    pub timestamp_ns: i64,
    pub line: String,
    pub labels: LineLabels,
    /// The record's other fields, which `| json` and `| logfmt` also see.
    pub fields: Map<String, Value>,
    pub error: Option<String>,
}

/// The stream labels of a record: `service`, `level` and its stream
/// labels (a stream label named `service` or `level` is hidden by the
/// record's own).
pub fn stream_labels(service: &str, level: &str, labels: &Map<String, Value>) -> LineLabels {
    let mut l = LineLabels::default();
    for (k, v) in labels {
        if let Value::String(s) = v {
            l.set(k, s.clone(), Origin::Stream);
        }
    }
    if !service.is_empty() {
        l.set("service", service, Origin::Stream);
    }
    l.set("level", level, Origin::Stream);
    l
}

impl PipelineLine {
    pub fn from_log_line(l: LogLine) -> PipelineLine {
        let mut labels = stream_labels(&l.service, l.level.as_str(), &l.labels);
        let meta = [
            ("request_id", l.request_id),
            ("user", l.user),
            ("path", l.path),
            ("status", l.status.map(|s| s.to_string())),
            ("duration", l.duration.map(crate::promql::format_float)),
        ];
        for (name, value) in meta {
            if let Some(v) = value {
                labels.set(name, v, Origin::Metadata);
            }
        }
        PipelineLine {
            timestamp_ns: l.timestamp_ns,
            line: l.message,
            labels,
            fields: l.fields,
            error: l.error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_joins_the_label_set_only_when_promoted() {
        let mut l = stream_labels("api", "info", &Map::new());
        l.set("path", "/x", Origin::Metadata);
        assert_eq!(
            l.to_labels(),
            Labels::from_pairs(&[("level", "info"), ("service", "api")])
        );
        l.set_extracted("path", "/y");
        assert_eq!(l.get("path_extracted"), Some("/y"));
        l.promote("path");
        assert_eq!(l.to_labels().get("path"), Some("/x"));
    }
}
