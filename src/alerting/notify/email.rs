//! The e-mail integration: SMTP through `lettre` (rustls with `ring`),
//! implicit TLS on port 465, otherwise STARTTLS — required unless
//! `require_tls: false`, then used when offered; TLS settings as the HTTP
//! clients read them (`smtp_tls.rs`). Multipart text + HTML from
//! the built-in or configured templates; the subject is Alertmanager's
//! default unless a `Subject` header is configured.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::Tls;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::setup_error::SetupError;
use super::smtp_tls::tls_parameters;
use super::template::Templates;
use super::{Delivered, Notification, Notifier, NotifyError, NotifyFuture, ReportMail};
use crate::config::alerting::EmailConfig;
use crate::config::{Secret, TlsConfig};
use crate::http_client::error_chain;
use crate::template::Template;

const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
const IMPLICIT_TLS_PORT: u16 = 465;

pub struct EmailNotifier {
    from: Mailbox,
    to: Vec<Mailbox>,
    host: String,
    port: u16,
    hello: String,
    tls: Tls,
    username: Option<String>,
    password: Secret,
    password_file: Option<PathBuf>,
    templates: Templates,
    subject: Template,
    headers: Vec<(String, Template)>,
    html: Template,
    text: Template,
    send_resolved: bool,
}

impl EmailNotifier {
    /// `cfg` has had the `smtp_*` globals filled in by config validation;
    /// `templates` are the named templates its texts may call.
    pub fn new(cfg: &EmailConfig, templates: &Templates) -> Result<EmailNotifier, SetupError> {
        crate::http_client::install_crypto_provider();
        let address = |field: &'static str, text: &str| {
            text.parse::<Mailbox>().map_err(|source| SetupError::Address {
                field,
                address: text.to_string(),
                source,
            })
        };
        let from = address("from", cfg.from.as_deref().ok_or(SetupError::NoFrom)?)?;
        let to = cfg
            .to
            .split(',')
            .map(|t| address("to", t.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        let smarthost = cfg.smarthost.as_deref().ok_or(SetupError::NoSmarthost)?;
        let (host, port) = smarthost
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.trim_matches(|c| c == '[' || c == ']'), p.parse::<u16>().ok()?)))
            .ok_or_else(|| SetupError::Smarthost(smarthost.to_string()))?;
        let tls_cfg = cfg.tls_config.clone().unwrap_or_default();
        let tls_cfg = TlsConfig {
            ca_file: tls_cfg.ca_file,
            server_name: tls_cfg.server_name,
            insecure_skip_verify: tls_cfg.insecure_skip_verify,
            ..TlsConfig::default()
        };
        let params = tls_parameters(&tls_cfg, host)?;
        let tls = if port == IMPLICIT_TLS_PORT {
            Tls::Wrapper(params)
        } else if cfg.require_tls.unwrap_or(true) {
            Tls::Required(params)
        } else {
            Tls::Opportunistic(params)
        };
        let mut subject = None;
        let mut headers = Vec::new();
        for (name, value) in &cfg.headers {
            let t = templates.compile(value).map_err(|e| SetupError::Text {
                integration: "email",
                what: format!("header {name}"),
                source: Box::new(e),
            })?;
            match name.to_ascii_lowercase().as_str() {
                "subject" => subject = Some(t),
                "from" | "to" => {
                    return Err(SetupError::FromToHeader(name.clone()));
                }
                _ => {
                    HeaderName::new_from_ascii(name.clone())
                        .map_err(|_| SetupError::HeaderName(name.clone()))?;
                    headers.push((name.clone(), t));
                }
            }
        }
        // Alertmanager's defaults: the subject and HTML body from its named
        // templates; Belfry also sends a plain-text part.
        let compile = |what: &str, t: &Option<String>, default: &str| {
            templates
                .compile(t.as_deref().unwrap_or(default))
                .map_err(|e| SetupError::Text {
                    integration: "email",
                    what: what.to_string(),
                    source: Box::new(e),
                })
        };
        let subject = match subject {
            Some(s) => s,
            None => compile("subject", &None, r#"{{ template "email.default.subject" . }}"#)?,
        };
        Ok(EmailNotifier {
            from,
            to,
            host: host.to_string(),
            port,
            hello: cfg.hello.clone().unwrap_or_else(|| "localhost".into()),
            tls,
            username: cfg.auth_username.clone().filter(|u| !u.is_empty()),
            password: cfg.auth_password.clone(),
            password_file: cfg.auth_password_file.clone(),
            subject,
            headers,
            html: compile("html", &cfg.html, r#"{{ template "email.default.html" . }}"#)?,
            text: compile("text", &cfg.text, r#"{{ template "email.default.text" . }}"#)?,
            templates: templates.clone(),
            send_resolved: cfg.send_resolved,
        })
    }

    /// The message as it will be sent (also used by tests).
    pub fn message(&self, n: &Notification) -> Result<Message, NotifyError> {
        let t = &self.templates;
        let subject = t.render_for("email subject", &self.subject, n, false)?;
        let text = t.render_for("email text", &self.text, n, false)?;
        let html = t.render_for("email html", &self.html, n, true)?;
        let mut b = Message::builder().from(self.from.clone()).subject(subject);
        for to in &self.to {
            b = b.to(to.clone());
        }
        for (name, t) in &self.headers {
            let name = HeaderName::new_from_ascii(name.clone())
                .map_err(|_| NotifyError::permanent(format!("email: invalid header name {name:?}")))?;
            let value = self.templates.render_for("email header", t, n, false)?;
            b = b.raw_header(HeaderValue::new(name, value));
        }
        b.multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html)),
        )
        .map_err(|e| NotifyError::permanent(format!("email: cannot build message: {e}")))
    }

    /// A report's message: this integration's sender and recipients, the
    /// report's subject, its plain text and HTML as alternatives (the
    /// configured headers are templates over alerts, so they are not used).
    pub fn report_message(&self, report: &ReportMail) -> Result<Message, NotifyError> {
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(report.subject.clone());
        for to in &self.to {
            b = b.to(to.clone());
        }
        b.multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(report.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(report.html.clone()),
                ),
        )
        .map_err(|e| NotifyError::permanent(format!("email: cannot build message: {e}")))
    }

    async fn send(&self, n: &Notification) -> Result<(), NotifyError> {
        let message = self.message(n)?;
        self.deliver(message).await
    }

    /// Sends one message over SMTP with this integration's connection, TLS
    /// and credentials.
    async fn deliver(&self, message: Message) -> Result<(), NotifyError> {
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.host.clone())
            .port(self.port)
            .hello_name(ClientId::Domain(self.hello.clone()))
            .tls(self.tls.clone())
            .timeout(Some(SMTP_TIMEOUT));
        if let Some(user) = &self.username {
            let password = match &self.password_file {
                Some(f) => tokio::fs::read_to_string(f)
                    .await
                    .map(|s| s.trim().to_string())
                    .map_err(|e| {
                        NotifyError::retryable(format!("email: cannot read {}: {e}", f.display()))
                    })?,
                None => self.password.expose().to_string(),
            };
            transport = transport.credentials(Credentials::new(user.clone(), password));
        }
        let transport = transport.build();
        match transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let message = format!("email via {}:{}: {}", self.host, self.port, error_chain(&e));
                if e.is_permanent() {
                    Err(NotifyError::permanent(message))
                } else {
                    Err(NotifyError::retryable(message))
                }
            }
        }
    }

    /// Where it sends, for a report's answer: `to` through `host:port`.
    pub fn destination(&self) -> String {
        let to: Vec<String> = self.to.iter().map(|m| m.email.to_string()).collect();
        format!("{} via {}:{}", to.join(", "), self.host, self.port)
    }
}

impl Notifier for EmailNotifier {
    fn integration(&self) -> &'static str {
        "email"
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn notify<'a>(&'a self, n: &'a Notification) -> NotifyFuture<'a> {
        Box::pin(async move { self.send(n).await.map(|()| Delivered::default()) })
    }

    fn send_report<'a>(&'a self, report: &'a ReportMail) -> Option<NotifyFuture<'a>> {
        Some(Box::pin(async move {
            let message = self.report_message(report)?;
            self.deliver(message).await.map(|()| Delivered::default())
        }))
    }

    fn describe(&self) -> String {
        self.destination()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::notify::tests::notification;

    fn config() -> EmailConfig {
        EmailConfig {
            to: "oncall@example.org, it@example.org".into(),
            from: Some("belfry@example.org".into()),
            smarthost: Some("127.0.0.1:2525".into()),
            ..Default::default()
        }
    }

    #[test]
    fn message_has_default_subject_and_both_bodies() {
        let e = EmailNotifier::new(&config(), &Templates::builtin()).unwrap();
        let raw = String::from_utf8(e.message(&notification()).unwrap().formatted()).unwrap();
        assert!(
            raw.contains("Subject: [FIRING:1] HighLatency (api page)"),
            "{raw}"
        );
        assert!(raw.contains("text/plain"));
        assert!(raw.contains("text/html"));
        assert!(raw.contains("it@example.org"));
    }

    #[test]
    fn subject_header_template_overrides() {
        let mut cfg = config();
        cfg.headers.insert(
            "Subject".into(),
            "LMS {{ .Status }}: {{ .CommonLabels.job }}".into(),
        );
        cfg.headers.insert("X-Team".into(), "{{ .Receiver }}".into());
        let e = EmailNotifier::new(&cfg, &Templates::builtin()).unwrap();
        let raw = String::from_utf8(e.message(&notification()).unwrap().formatted()).unwrap();
        assert!(raw.contains("Subject: LMS firing: api"), "{raw}");
        assert!(raw.contains("X-Team: team"), "{raw}");
    }

    #[test]
    fn report_message_has_both_parts_and_the_recipients() {
        let e = EmailNotifier::new(&config(), &Templates::builtin()).unwrap();
        let report = ReportMail {
            subject: "Daily summary".into(),
            html: "<h1>Daily summary</h1>".into(),
            text: "Daily summary".into(),
        };
        let raw = String::from_utf8(e.report_message(&report).unwrap().formatted()).unwrap();
        assert!(raw.contains("Subject: Daily summary"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("text/plain") && raw.contains("text/html"), "{raw}");
        assert!(raw.contains("<h1>Daily summary</h1>"), "{raw}");
        assert!(raw.contains("oncall@example.org"), "{raw}");
        assert_eq!(
            e.destination(),
            "oncall@example.org, it@example.org via 127.0.0.1:2525"
        );
    }

    #[test]
    fn bad_smarthost_is_refused() {
        let mut cfg = config();
        cfg.smarthost = Some("no-port".into());
        assert!(EmailNotifier::new(&cfg, &Templates::builtin()).is_err());
    }
}
