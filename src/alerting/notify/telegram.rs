//! The Telegram integration: the Bot API's `sendMessage`, POSTed as JSON
//! to `<api_url>/bot<token>/sendMessage`. As Alertmanager: with
//! `parse_mode: HTML` the message is rendered HTML-escaped and, if longer
//! than Telegram's 4096 characters, replaced by a notice (cutting HTML
//! could break its tags); otherwise it is cut to 4096. The answer is JSON
//! whose `ok` must be true; a refusal with code 429 or 5xx may pass later.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::chat_http::{JsonPoster, compile, host, secret_file};
use super::setup_error::SetupError;
use super::template::Templates;
use super::truncate::runes;
use super::{Delivered, Notification, Notifier, NotifyError, NotifyFuture};
use crate::config::Secret;
use crate::config::alerting::TelegramConfig;
use crate::template::Template;

const INTEGRATION: &str = "telegram";
const MAX_MESSAGE_RUNES: usize = 4096;
const TOO_LONG: &str = "Belfry notification could not be sent: message length exceeds Telegram limits.\n\
Please check the template used for producing the message content.";

enum ChatId {
    Inline(i64),
    File(PathBuf),
}

pub struct TelegramNotifier {
    poster: JsonPoster,
    templates: Templates,
    send_resolved: bool,
    api_url: String,
    token: Secret,
    token_file: Option<PathBuf>,
    chat: ChatId,
    thread: i64,
    message: Template,
    parse_mode: String,
    disable_notifications: bool,
}

impl TelegramNotifier {
    pub fn new(cfg: &TelegramConfig, templates: &Templates) -> Result<TelegramNotifier, SetupError> {
        let chat = match &cfg.chat_id_file {
            Some(f) => ChatId::File(f.clone()),
            None => ChatId::Inline(cfg.chat_id),
        };
        Ok(TelegramNotifier {
            poster: JsonPoster::new(INTEGRATION, &cfg.http_config, cfg.timeout)?,
            templates: templates.clone(),
            send_resolved: cfg.send_resolved,
            api_url: cfg.api_url.clone().unwrap_or_default(),
            token: cfg.bot_token.clone(),
            token_file: cfg.bot_token_file.clone(),
            chat,
            thread: cfg.message_thread_id,
            message: compile(templates, INTEGRATION, "message", &cfg.message)?,
            parse_mode: cfg.parse_mode.clone(),
            disable_notifications: cfg.disable_notifications,
        })
    }

    pub(crate) fn message(&self, n: &Notification) -> Result<(String, Delivered), NotifyError> {
        let mut delivered = Delivered::default();
        let html = self.parse_mode == "HTML";
        let text = self
            .templates
            .render_for("telegram message", &self.message, n, html)?;
        let text = if html {
            if text.chars().count() <= MAX_MESSAGE_RUNES {
                text
            } else {
                delivered.truncated.push("message");
                TOO_LONG.to_string()
            }
        } else {
            let (text, cut) = runes(text, MAX_MESSAGE_RUNES);
            if cut {
                delivered.truncated.push("message");
            }
            text
        };
        Ok((text, delivered))
    }

    async fn send(&self, n: &Notification) -> Result<Delivered, NotifyError> {
        let (text, delivered) = self.message(n)?;
        let token = match &self.token_file {
            Some(f) => secret_file(INTEGRATION, f).await?,
            None => self.token.expose().to_string(),
        };
        let chat_id = match &self.chat {
            ChatId::Inline(id) => *id,
            ChatId::File(f) => {
                let raw = secret_file(INTEGRATION, f).await?;
                raw.parse::<i64>().map_err(|e| {
                    NotifyError::permanent(format!(
                        "telegram: cannot parse chat_id from {}: {e}",
                        f.display()
                    ))
                })?
            }
        };
        let mut body = json!({
            "chat_id": chat_id,
            "text": text,
            "disable_notification": self.disable_notifications,
            "disable_web_page_preview": true,
        });
        if !self.parse_mode.is_empty() {
            body["parse_mode"] = Value::String(self.parse_mode.clone());
        }
        if self.thread != 0 {
            body["message_thread_id"] = json!(self.thread);
        }
        let url = format!("{}/bot{token}/sendMessage", self.api_url.trim_end_matches('/'));
        let answer = self.poster.post(&url, &body).await?;
        let reply: Option<Value> = serde_json::from_slice(&answer.body).ok();
        let Some(reply) = reply.filter(Value::is_object) else {
            answer.check(INTEGRATION, &url)?;
            return Err(NotifyError::retryable(format!(
                "telegram {}: the answer is not JSON: {}",
                host(&url),
                answer.body_text()
            )));
        };
        if reply["ok"] == Value::Bool(true) {
            return Ok(delivered);
        }
        let code = reply["error_code"]
            .as_u64()
            .unwrap_or(u64::from(answer.status.as_u16()));
        let message = format!(
            "telegram {}: error {code}: {}",
            host(&url),
            reply["description"].as_str().unwrap_or("no description given")
        );
        if code == 429 || code >= 500 {
            Err(NotifyError::retryable(message))
        } else {
            Err(NotifyError::permanent(message))
        }
    }
}

impl Notifier for TelegramNotifier {
    fn integration(&self) -> &'static str {
        INTEGRATION
    }

    fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    fn notify<'a>(&'a self, n: &'a Notification) -> NotifyFuture<'a> {
        Box::pin(self.send(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::notify::tests::notification;
    use crate::model::Labels;

    fn notifier(parse_mode: &str, message: &str) -> TelegramNotifier {
        let cfg = TelegramConfig {
            bot_token: Secret::new("123:abc"),
            chat_id: -100,
            parse_mode: parse_mode.into(),
            message: message.into(),
            api_url: Some("http://127.0.0.1:9".into()),
            ..Default::default()
        };
        TelegramNotifier::new(&cfg, &Templates::builtin()).unwrap()
    }

    #[test]
    fn html_mode_escapes_and_never_cuts_markup() {
        let mut n = notification();
        n.alerts[0].alert.annotations = Labels::from_pairs(&[("summary", "a<b")]);
        let (text, _) = notifier("HTML", "{{ template \"telegram.default.message\" . }}")
            .message(&n)
            .unwrap();
        assert!(text.contains("Alerts Firing:"), "{text}");
        assert!(text.contains("summary = a&lt;b"), "{text}");
        let (text, d) = notifier("HTML", &"x".repeat(5000)).message(&n).unwrap();
        assert_eq!(text, TOO_LONG);
        assert_eq!(d.truncated, vec!["message"]);
        let (text, d) = notifier("", &"x".repeat(5000)).message(&n).unwrap();
        assert_eq!(text.chars().count(), 4096);
        assert_eq!(d.truncated, vec!["message"]);
    }
}
