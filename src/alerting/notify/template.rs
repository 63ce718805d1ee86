//! Notification text: Go templates over Alertmanager's notification data
//! (`.Status`, `.Receiver`, `.Alerts` with `.Firing`/`.Resolved`,
//! `.GroupLabels`, `.CommonLabels`, `.CommonAnnotations`, `.ExternalURL`),
//! run by our template engine (`crate::template`).
//!
//! The set of named templates is the built-in defaults (`default.tmpl`:
//! `__subject`, `email.default.subject`, `email.default.html`, …) plus the
//! files of the `templates:` globs, read at load and reload; a bad file
//! refuses the configuration with its `file:line` and reason.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use super::setup_error::SetupError;
use super::{Notification, NotifyError};
use crate::model::Labels;
use crate::template::{Context, TValue, Template, TemplateError, TemplateSet};

/// The built-in definitions, under Alertmanager's names.
const DEFAULT_TEMPLATES: &str = include_str!("default.tmpl");
const DEFAULT_ORIGIN: &str = "<built-in default.tmpl>";
/// Template files larger than this are refused (they are read at every reload).
const MAX_TEMPLATE_FILE: u64 = 4 << 20;

/// The named templates notifications may call, shared by all receivers.
#[derive(Clone, Debug)]
pub struct Templates {
    set: Arc<TemplateSet>,
}

impl Templates {
    /// Only the built-in defaults.
    pub fn builtin() -> Templates {
        let mut set = TemplateSet::new();
        set.add(DEFAULT_TEMPLATES, "default.tmpl")
            .expect("the built-in notification templates parse (checked by a unit test)");
        Templates { set: Arc::new(set) }
    }

    /// The defaults plus every file the glob patterns match (sorted per
    /// pattern; a pattern matching nothing is not an error, as in
    /// Alertmanager). Errors read `FILE:LINE: reason`.
    pub fn load(patterns: &[String]) -> Result<Templates, SetupError> {
        let mut set = TemplateSet::new();
        set.add(DEFAULT_TEMPLATES, "default.tmpl")
            .map_err(|source| SetupError::TemplateFile {
                origin: DEFAULT_ORIGIN.to_string(),
                source,
            })?;
        for pattern in patterns {
            let paths = glob::glob(pattern).map_err(|source| SetupError::TemplatePattern {
                pattern: pattern.clone(),
                source,
            })?;
            let mut files: Vec<_> = paths.flatten().filter(|p| p.is_file()).collect();
            files.sort();
            for path in files {
                add_file(&mut set, &path)?;
            }
        }
        if let Some(name) = set.missing_templates().first() {
            return Err(SetupError::TemplateUndefined(name.to_string()));
        }
        Ok(Templates { set: Arc::new(set) })
    }

    /// Parses one configured text (a subject, `html`, `text`, a header)
    /// and checks every template it calls is defined.
    pub fn compile(&self, src: &str) -> Result<Template, SetupError> {
        let t = Template::parse_notification(src)?;
        if let Some(name) = t.missing_templates(&self.set).first() {
            return Err(SetupError::NoSuchTemplate {
                name: name.to_string(),
                defined: self
                    .set
                    .names()
                    .into_iter()
                    .filter(|n| !n.starts_with("__"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(t)
    }

    /// Renders a compiled text for one notification; `html` escapes what
    /// actions print, as Alertmanager's html/template does for e-mail HTML.
    pub fn render(&self, t: &Template, n: &Notification, html: bool) -> Result<String, TemplateError> {
        let ctx = Context {
            query: None,
            external_url: &n.external_url,
            path_prefix: "",
            now_secs: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        };
        t.execute(&data(n), Some(&self.set), &ctx, html)
    }

    /// Renders, naming what failed in the error.
    pub fn render_for(
        &self,
        what: &str,
        t: &Template,
        n: &Notification,
        html: bool,
    ) -> Result<String, NotifyError> {
        self.render(t, n, html)
            .map_err(|e| NotifyError::permanent(format!("rendering {what}: {e}")))
    }
}

fn add_file(set: &mut TemplateSet, path: &Path) -> Result<(), SetupError> {
    let unreadable = |source| SetupError::TemplateRead {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(unreadable)?.len();
    if size > MAX_TEMPLATE_FILE {
        return Err(SetupError::TemplateTooLarge {
            path: path.to_path_buf(),
            size,
            limit: MAX_TEMPLATE_FILE,
        });
    }
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    set.add(&text, &name).map_err(|e| match e {
        TemplateError::Parse { line, message } => SetupError::TemplateAt {
            path: path.to_path_buf(),
            line,
            message,
        },
        source => SetupError::TemplateFile {
            origin: path.display().to_string(),
            source,
        },
    })
}

fn kv(l: &Labels) -> TValue {
    TValue::kv(l.iter().map(|x| (x.name.as_str(), x.value.as_str())))
}

fn time(t: SystemTime) -> TValue {
    let utc: DateTime<Utc> = t.into();
    TValue::Time(utc.with_timezone(&chrono_tz::UTC))
}

/// Alertmanager's template data for one notification.
pub fn data(n: &Notification) -> TValue {
    let alerts: Vec<TValue> = n
        .alerts
        .iter()
        .map(|a| {
            let status = if a.resolved { "resolved" } else { "firing" };
            TValue::Map(Arc::new(
                [
                    ("Status", TValue::str(status)),
                    ("Labels", kv(&a.alert.labels)),
                    ("Annotations", kv(&a.alert.annotations)),
                    ("StartsAt", time(a.alert.starts_at)),
                    ("EndsAt", time(a.alert.ends_at)),
                    ("GeneratorURL", TValue::str(a.alert.generator_url.clone())),
                    ("Fingerprint", TValue::str(format!("{:016x}", a.fingerprint))),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            ))
        })
        .collect();
    TValue::Map(Arc::new(
        [
            ("Receiver", TValue::str(n.receiver.clone())),
            ("Status", TValue::str(n.status())),
            ("Alerts", TValue::Alerts(Arc::new(alerts))),
            ("GroupLabels", kv(&n.group_labels)),
            ("CommonLabels", kv(&n.common_labels)),
            ("CommonAnnotations", kv(&n.common_annotations)),
            ("ExternalURL", TValue::str(n.external_url.clone())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::notify::tests::notification;

    fn render(src: &str, n: &Notification, html: bool) -> String {
        let t = Templates::builtin();
        let c = t.compile(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        t.render(&c, n, html).unwrap()
    }

    #[test]
    fn subject_matches_alertmanager_default() {
        let n = notification();
        assert_eq!(
            render("{{ template \"email.default.subject\" . }}", &n, false),
            "[FIRING:1] HighLatency (api page)"
        );
    }

    #[test]
    fn notification_data_as_alertmanager_has_it() {
        let n = notification();
        let cases = [
            (
                "{{ .Status }} {{ .Receiver }} {{ .ExternalURL }}",
                "firing team http://belfry.example",
            ),
            (
                "{{ .CommonLabels.job }}/{{ .GroupLabels.alertname }}",
                "api/HighLatency",
            ),
            ("{{ .CommonAnnotations.summary }}", "p99 above 2s"),
            ("{{ len .Alerts.Firing }}:{{ len .Alerts.Resolved }}", "1:0"),
            (
                "{{ range .Alerts }}{{ .Labels.SortedPairs }}{{ end }}",
                "alertname=HighLatency, job=api, severity=page",
            ),
            ("{{ .CommonLabels.Names | join \",\" }}", "alertname,job,severity"),
            (
                "{{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join \" \" }}{{ end }}",
                "api page",
            ),
            (
                "{{ range .Alerts }}{{ .StartsAt.Format \"2006-01-02 15:04 MST\" }}{{ end }}",
                "2023-11-14 22:13 UTC",
            ),
            (
                "{{ range .Alerts }}{{ .StartsAt | tz \"Europe/Berlin\" | date \"15:04 MST\" }}{{ end }}",
                "23:13 CET",
            ),
            ("{{ stringSlice \"a\" \"b\" | join \"-\" }}", "a-b"),
            (
                "{{ toUpper \"x\" }}{{ toLower \"Y\" }}{{ title \"ab cd\" }}",
                "XyAb Cd",
            ),
            ("{{ trimSpace \"  x \" }}", "x"),
            ("{{ reReplaceAll \"(a+)\" \"<$1>\" \"baac\" }}", "b<aa>c"),
            ("{{ range .Alerts }}{{ .Fingerprint | len }}{{ end }}", "16"),
        ];
        for (src, want) in cases {
            assert_eq!(render(src, &n, false), want, "{src}");
        }
    }

    #[test]
    fn html_escapes_except_safe_html() {
        let mut n = notification();
        n.common_annotations = Labels::from_pairs(&[("summary", "<b>x</b>")]);
        assert_eq!(
            render("{{ .CommonAnnotations.summary }}", &n, true),
            "&lt;b&gt;x&lt;/b&gt;"
        );
        assert_eq!(
            render("{{ .CommonAnnotations.summary | safeHtml }}", &n, true),
            "<b>x</b>"
        );
        n.alerts[0].alert.annotations = Labels::from_pairs(&[("summary", "<script>")]);
        let html = render("{{ template \"email.default.html\" . }}", &n, true);
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn default_text_lists_alerts() {
        let n = notification();
        let text = render("{{ template \"email.default.text\" . }}", &n, false);
        assert!(text.starts_with("[FIRING:1] HighLatency (api page)\n"), "{text}");
        assert!(text.contains("[1] Firing"), "{text}");
        assert!(text.contains(" - job = api"), "{text}");
        assert!(text.contains("Source: http://belfry/graph"), "{text}");
    }

    #[test]
    fn user_files_define_and_override_and_bad_ones_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.tmpl"),
            "{{ define \"email.lms.html\" }}<h1>{{ .CommonLabels.job }}</h1>{{ template \"__subject\" . }}{{ end }}\n\
             {{ define \"__alertmanager\" }}LMS alerts{{ end }}\n",
        )
        .unwrap();
        let t = Templates::load(&[dir.path().join("*.tmpl").display().to_string()]).unwrap();
        let n = notification();
        let c = t
            .compile("{{ template \"email.lms.html\" . }} via {{ template \"__alertmanager\" . }}")
            .unwrap();
        assert_eq!(
            t.render(&c, &n, true).unwrap(),
            "<h1>api</h1>[FIRING:1] HighLatency (api page) via LMS alerts"
        );
        assert!(
            t.compile("{{ template \"nope\" . }}")
                .unwrap_err()
                .to_string()
                .contains("no such template \"nope\"")
        );

        std::fs::write(
            dir.path().join("b.tmpl"),
            "{{ define \"x\" }}\nline two\n{{ if .Status }}\n{{ end }}{{ end }}{{ end }}\n",
        )
        .unwrap();
        let err = Templates::load(&[dir.path().join("*.tmpl").display().to_string()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("b.tmpl:4: template:") && err.contains("unexpected {{end}}"),
            "{err}"
        );
        std::fs::write(
            dir.path().join("b.tmpl"),
            "{{ define \"x\" }}\n{{ nosuchfunc . }}{{ end }}\n",
        )
        .unwrap();
        let err = Templates::load(&[dir.path().join("*.tmpl").display().to_string()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("b.tmpl:2: template: function \"nosuchfunc\" not defined"),
            "{err}"
        );
    }
}
