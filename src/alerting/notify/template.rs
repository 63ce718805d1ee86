//! Notification text: Alertmanager's default subject
//! (`[FIRING:2] HighLatency api (page)`), built-in text and HTML e-mail
//! bodies, and a small template language for custom subjects and bodies.
//!
//! Custom templates take `{{ .Status }}`, `{{ .Receiver }}`,
//! `{{ .ExternalURL }}`, `{{ .GroupLabels.NAME }}`, `{{ .CommonLabels.NAME }}`,
//! `{{ .CommonAnnotations.NAME }}` and `{{ template "NAME" . }}` for the
//! built-in `__subject`, `email.default.subject`, `email.default.text` and
//! `email.default.html`. Anything else is refused when the config loads,
//! so a template never fails at send time.

use std::fmt::Write as _;

use super::Notification;
use crate::model::Labels;

#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Text(String),
    Status,
    Receiver,
    ExternalUrl,
    GroupLabel(String),
    CommonLabel(String),
    CommonAnnotation(String),
    Subject,
    DefaultText,
    DefaultHtml,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("unclosed action in template {text:?}"))?;
            let action = after[..close].trim().trim_matches('-').trim();
            parts.push(parse_action(action)?);
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    pub fn render(&self, n: &Notification) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Status => out.push_str(n.status()),
                Part::Receiver => out.push_str(&n.receiver),
                Part::ExternalUrl => out.push_str(&n.external_url),
                Part::GroupLabel(l) => out.push_str(n.group_labels.get(l).unwrap_or("")),
                Part::CommonLabel(l) => out.push_str(n.common_labels.get(l).unwrap_or("")),
                Part::CommonAnnotation(l) => out.push_str(n.common_annotations.get(l).unwrap_or("")),
                Part::Subject => out.push_str(&default_subject(n)),
                Part::DefaultText => out.push_str(&default_text(n)),
                Part::DefaultHtml => out.push_str(&default_html(n)),
            }
        }
        out
    }
}

fn parse_action(action: &str) -> Result<Part, String> {
    let field = |prefix: &str| {
        action
            .strip_prefix(prefix)
            .filter(|n| crate::config::is_valid_label_name(n))
            .map(str::to_string)
    };
    if let Some(l) = field(".GroupLabels.") {
        return Ok(Part::GroupLabel(l));
    }
    if let Some(l) = field(".CommonLabels.") {
        return Ok(Part::CommonLabel(l));
    }
    if let Some(l) = field(".CommonAnnotations.") {
        return Ok(Part::CommonAnnotation(l));
    }
    match action {
        ".Status" => return Ok(Part::Status),
        ".Receiver" => return Ok(Part::Receiver),
        ".ExternalURL" => return Ok(Part::ExternalUrl),
        _ => {}
    }
    if let Some(rest) = action.strip_prefix("template ") {
        let name = rest
            .trim()
            .strip_suffix('.')
            .unwrap_or(rest)
            .trim()
            .trim_matches('"');
        return match name {
            "__subject" | "email.default.subject" => Ok(Part::Subject),
            "email.default.text" | "__text_alert_list" => Ok(Part::DefaultText),
            "email.default.html" => Ok(Part::DefaultHtml),
            _ => Err(format!("unknown template {name:?}")),
        };
    }
    Err(format!(
        "unsupported template action {{{{ {action} }}}} (supported: .Status, .Receiver, .ExternalURL, \
         .GroupLabels.NAME, .CommonLabels.NAME, .CommonAnnotations.NAME, template \"__subject\" .)"
    ))
}

/// Alertmanager's `__subject`: status and firing count, the group label
/// values, then the values of common labels that are not group labels.
pub fn default_subject(n: &Notification) -> String {
    let mut s = String::new();
    let firing = n.firing_count();
    if firing > 0 {
        let _ = write!(s, "[FIRING:{firing}]");
    } else {
        s.push_str("[RESOLVED]");
    }
    for l in n.group_labels.iter() {
        s.push(' ');
        s.push_str(&l.value);
    }
    let extra: Vec<&str> = n
        .common_labels
        .iter()
        .filter(|l| n.group_labels.get(&l.name).is_none())
        .map(|l| l.value.as_str())
        .collect();
    if !extra.is_empty() {
        let _ = write!(s, " ({})", extra.join(" "));
    }
    s
}

fn pairs(labels: &Labels) -> String {
    labels
        .iter()
        .map(|l| format!("{}={}", l.name, l.value))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn default_text(n: &Notification) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", default_subject(n));
    let _ = writeln!(s);
    let _ = writeln!(s, "{} alert(s) for {}", n.alerts.len(), pairs(&n.group_labels));
    if !n.external_url.is_empty() {
        let _ = writeln!(s, "View in Belfry: {}", n.external_url);
    }
    for (title, resolved) in [("Firing", false), ("Resolved", true)] {
        let alerts: Vec<_> = n.alerts.iter().filter(|a| a.resolved == resolved).collect();
        if alerts.is_empty() {
            continue;
        }
        let _ = writeln!(s, "\n[{}] {title}", alerts.len());
        for a in alerts {
            let _ = writeln!(s, "\nLabels:");
            for l in a.alert.labels.iter() {
                let _ = writeln!(s, " - {} = {}", l.name, l.value);
            }
            if !a.alert.annotations.is_empty() {
                let _ = writeln!(s, "Annotations:");
                for l in a.alert.annotations.iter() {
                    let _ = writeln!(s, " - {} = {}", l.name, l.value);
                }
            }
            if !a.alert.generator_url.is_empty() {
                let _ = writeln!(s, "Source: {}", a.alert.generator_url);
            }
        }
    }
    s
}

pub fn default_html(n: &Notification) -> String {
    let mut s = String::new();
    let colour = if n.firing_count() > 0 {
        "#e45959"
    } else {
        "#68b90f"
    };
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family:sans-serif\">\n<h2 style=\"color:{colour}\">{}</h2>\n<p>{} alert(s) for {}</p>\n",
        escape(&default_subject(n)),
        escape(&default_subject(n)),
        n.alerts.len(),
        escape(&pairs(&n.group_labels)),
    );
    if !n.external_url.is_empty() {
        let _ = writeln!(
            s,
            "<p><a href=\"{0}\">View in Belfry</a></p>",
            escape(&n.external_url)
        );
    }
    for (title, resolved) in [("Firing", false), ("Resolved", true)] {
        let alerts: Vec<_> = n.alerts.iter().filter(|a| a.resolved == resolved).collect();
        if alerts.is_empty() {
            continue;
        }
        let _ = writeln!(s, "<h3>[{}] {title}</h3>", alerts.len());
        for a in alerts {
            s.push_str("<p><strong>Labels</strong><br>\n");
            for l in a.alert.labels.iter() {
                let _ = writeln!(s, "{} = {}<br>", escape(&l.name), escape(&l.value));
            }
            if !a.alert.annotations.is_empty() {
                s.push_str("<strong>Annotations</strong><br>\n");
                for l in a.alert.annotations.iter() {
                    let _ = writeln!(s, "{} = {}<br>", escape(&l.name), escape(&l.value));
                }
            }
            if !a.alert.generator_url.is_empty() {
                let _ = writeln!(s, "<a href=\"{0}\">Source</a>", escape(&a.alert.generator_url));
            }
            s.push_str("</p>\n");
        }
    }
    s.push_str("</body></html>\n");
    s
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::notify::tests::notification;

    #[test]
    fn subject_matches_alertmanager_default() {
        let n = notification();
        assert_eq!(default_subject(&n), "[FIRING:1] HighLatency (api page)");
    }

    #[test]
    fn custom_templates_render_and_bad_ones_are_refused() {
        let n = notification();
        let t = Template::parse("{{ .Status }}: {{ .CommonLabels.job }} — {{ template \"__subject\" . }}")
            .unwrap();
        assert_eq!(t.render(&n), "firing: api — [FIRING:1] HighLatency (api page)");
        assert!(Template::parse("{{ range .Alerts }}").is_err());
        assert!(Template::parse("{{ .Status ").is_err());
    }

    #[test]
    fn html_escapes_values() {
        let mut n = notification();
        n.alerts[0].alert.annotations = Labels::from_pairs(&[("summary", "<script>")]);
        let html = default_html(&n);
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>"));
    }
}
