//! The Discord integration: a channel webhook's message, the alerts in one
//! embed colored by status. As Alertmanager: the embed title is cut to
//! 256 characters, its description to 4096, the content to 2000 (Discord's
//! limits).

use serde_json::{Value, json};

use super::chat_http::{Endpoint, JsonPoster, compile, render};
use super::setup_error::SetupError;
use super::template::Templates;
use super::truncate::runes;
use super::{Delivered, Notification, Notifier, NotifyError, NotifyFuture};
use crate::config::alerting::DiscordConfig;
use crate::template::Template;

const INTEGRATION: &str = "discord";
const MAX_TITLE_RUNES: usize = 256;
const MAX_DESCRIPTION_RUNES: usize = 4096;
const MAX_CONTENT_RUNES: usize = 2000;
const COLOR_FIRING: u32 = 0x992D22;
const COLOR_RESOLVED: u32 = 0x2ECC71;

pub struct DiscordNotifier {
    poster: JsonPoster,
    endpoint: Endpoint,
    templates: Templates,
    send_resolved: bool,
    content: Template,
    title: Template,
    message: Template,
    username: String,
    avatar_url: String,
}

impl DiscordNotifier {
    pub fn new(cfg: &DiscordConfig, templates: &Templates) -> Result<DiscordNotifier, SetupError> {
        Ok(DiscordNotifier {
            poster: JsonPoster::new(INTEGRATION, &cfg.http_config, cfg.timeout)?,
            endpoint: Endpoint::new(&cfg.webhook_url, cfg.webhook_url_file.as_deref()),
            templates: templates.clone(),
            send_resolved: cfg.send_resolved,
            content: compile(templates, INTEGRATION, "content", &cfg.content)?,
            title: compile(templates, INTEGRATION, "title", &cfg.title)?,
            message: compile(templates, INTEGRATION, "message", &cfg.message)?,
            username: cfg.username.clone(),
            avatar_url: cfg.avatar_url.clone(),
        })
    }

    pub(crate) fn payload(&self, n: &Notification) -> Result<(Value, Delivered), NotifyError> {
        let mut delivered = Delivered::default();
        let mut text = |what: &'static str, t: &Template, max: usize| -> Result<String, NotifyError> {
            let (v, cut) = runes(render(&self.templates, INTEGRATION, what, t, n)?, max);
            if cut {
                delivered.truncated.push(what);
            }
            Ok(v)
        };
        let title = text("title", &self.title, MAX_TITLE_RUNES)?;
        let description = text("message", &self.message, MAX_DESCRIPTION_RUNES)?;
        let content = text("content", &self.content, MAX_CONTENT_RUNES)?;
        let color = if n.status() == "firing" {
            COLOR_FIRING
        } else {
            COLOR_RESOLVED
        };
        let mut body = json!({
            "content": content,
            "embeds": [{"title": title, "description": description, "color": color}],
        });
        if !self.username.is_empty() {
            body["username"] = Value::String(self.username.clone());
        }
        if !self.avatar_url.is_empty() {
            body["avatar_url"] = Value::String(self.avatar_url.clone());
        }
        Ok((body, delivered))
    }

    async fn send(&self, n: &Notification) -> Result<Delivered, NotifyError> {
        let (body, delivered) = self.payload(n)?;
        let url = self.endpoint.url(INTEGRATION).await?;
        self.poster.post(&url, &body).await?.check(INTEGRATION, &url)?;
        Ok(delivered)
    }
}

impl Notifier for DiscordNotifier {
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
    use crate::config::Secret;

    #[test]
    fn embed_with_limits() {
        let cfg = DiscordConfig {
            webhook_url: Secret::new("http://127.0.0.1:9/api/webhooks/1/x"),
            content: "c".repeat(2500),
            ..Default::default()
        };
        let d = DiscordNotifier::new(&cfg, &Templates::builtin()).unwrap();
        let (p, delivered) = d.payload(&notification()).unwrap();
        assert_eq!(p["embeds"][0]["title"], "[FIRING:1] HighLatency (api page)");
        assert_eq!(p["embeds"][0]["color"], 0x992D22);
        assert!(
            p["embeds"][0]["description"]
                .as_str()
                .unwrap()
                .contains("Alerts Firing:")
        );
        assert_eq!(p["content"].as_str().unwrap().chars().count(), 2000);
        assert_eq!(delivered.truncated, vec!["content"]);
        assert!(p.get("username").is_none());
    }
}
