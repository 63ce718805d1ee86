//! A compiled template: parsing with the check that every called function
//! exists, running over notification data, and expanding Prometheus's
//! alert labels and annotations.

use crate::model::Labels;

use super::context::Context;
use super::error::TemplateError;
use super::exec;
use super::set::TemplateSet;
use super::source::{Funcs, Source, called_templates};
use super::value::TValue;

/// The data of one expansion: the alert's labels, the external labels and
/// URL, and the sample value.
pub struct TemplateData<'a> {
    pub labels: &'a Labels,
    pub external_labels: &'a Labels,
    pub external_url: &'a str,
    pub value: f64,
}

#[derive(Debug, Clone)]
pub struct Template(Source);

impl Template {
    /// Parses a template and checks that every function it calls exists
    /// (Prometheus's functions, as alert labels and annotations have them).
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        Source::parse(src, Funcs::Prometheus).map(Template)
    }

    /// Parses a notification template: Prometheus's functions plus
    /// Alertmanager's (`join`, `trimSpace`, `stringSlice`, `date`, `tz`, …).
    pub fn parse_notification(src: &str) -> Result<Template, TemplateError> {
        Source::parse(src, Funcs::Notification).map(Template)
    }

    /// Runs the template with `dot` as data (notification templates);
    /// `set` supplies the definitions it calls that it does not define
    /// itself; `html` escapes what actions print.
    pub fn execute(
        &self,
        dot: &TValue,
        set: Option<&TemplateSet>,
        ctx: &Context<'_>,
        html: bool,
    ) -> Result<String, TemplateError> {
        if let Some(l) = &self.0.literal {
            return Ok(l.clone());
        }
        let mut ex = exec::Exec {
            defines: &self.0.defines,
            shared: set.map(TemplateSet::definitions),
            html,
            ctx,
            vars: vec![("$".to_string(), dot.clone())],
            out: String::new(),
            depth: 0,
        };
        ex.run(&self.0.root, dot)?;
        Ok(ex.out)
    }

    /// Names this template calls with `{{ template }}` that neither it nor
    /// `set` defines (so a notification never fails on them at send time).
    pub fn missing_templates(&self, set: &TemplateSet) -> Vec<String> {
        let mut called = Vec::new();
        for nodes in std::iter::once(&self.0.root).chain(self.0.defines.values()) {
            called_templates(nodes, &mut called);
        }
        called.retain(|n| !self.0.defines.contains_key(n) && !set.contains(n));
        called.sort();
        called.dedup();
        called
    }

    /// Expands with Prometheus's alert data and variables.
    pub fn expand(&self, data: &TemplateData<'_>, ctx: &Context<'_>) -> Result<String, TemplateError> {
        if let Some(l) = &self.0.literal {
            return Ok(l.clone());
        }
        let labels = labels_value(data.labels);
        let ext = labels_value(data.external_labels);
        let dot = TValue::Map(std::sync::Arc::new(
            [
                ("Labels".to_string(), labels.clone()),
                ("ExternalLabels".to_string(), ext.clone()),
                ("ExternalURL".to_string(), TValue::str(data.external_url)),
                ("Value".to_string(), TValue::Float(data.value)),
            ]
            .into_iter()
            .collect(),
        ));
        let mut ex = exec::Exec {
            defines: &self.0.defines,
            shared: None,
            html: false,
            ctx,
            vars: vec![
                ("$".to_string(), dot.clone()),
                ("$labels".to_string(), labels),
                ("$externalLabels".to_string(), ext),
                ("$externalURL".to_string(), TValue::str(data.external_url)),
                ("$value".to_string(), TValue::Float(data.value)),
            ],
            out: String::new(),
            depth: 0,
        };
        ex.run(&self.0.root, &dot)?;
        Ok(ex.out)
    }
}

fn labels_value(l: &Labels) -> TValue {
    TValue::string_map(l.iter().map(|x| (x.name.as_str(), x.value.as_str())))
}
