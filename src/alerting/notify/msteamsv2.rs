//! The Microsoft Teams integration through a Workflows webhook: a
//! `message` with one adaptive card (a bold title colored by status, then
//! the text, full width), as Alertmanager's `msteamsv2` sends it. Teams
//! answers 202; any 2xx passes.

use serde_json::{Value, json};

use super::chat_http::{Endpoint, JsonPoster, compile, render};
use super::setup_error::SetupError;
use super::template::Templates;
use super::{Delivered, Notification, Notifier, NotifyError, NotifyFuture};
use crate::config::alerting::MsTeamsV2Config;
use crate::template::Template;

const INTEGRATION: &str = "msteamsv2";

pub struct MsTeamsV2Notifier {
    poster: JsonPoster,
    endpoint: Endpoint,
    templates: Templates,
    send_resolved: bool,
    title: Template,
    text: Template,
}

impl MsTeamsV2Notifier {
    pub fn new(cfg: &MsTeamsV2Config, templates: &Templates) -> Result<MsTeamsV2Notifier, SetupError> {
        Ok(MsTeamsV2Notifier {
            poster: JsonPoster::new(INTEGRATION, &cfg.http_config, cfg.timeout)?,
            endpoint: Endpoint::new(&cfg.webhook_url, cfg.webhook_url_file.as_deref()),
            templates: templates.clone(),
            send_resolved: cfg.send_resolved,
            title: compile(templates, INTEGRATION, "title", &cfg.title)?,
            text: compile(templates, INTEGRATION, "text", &cfg.text)?,
        })
    }

    pub(crate) fn payload(&self, n: &Notification) -> Result<Value, NotifyError> {
        let title = render(&self.templates, INTEGRATION, "title", &self.title, n)?;
        let text = render(&self.templates, INTEGRATION, "text", &self.text, n)?;
        // Adaptive cards name colors by role.
        let color = if n.status() == "firing" {
            "Attention"
        } else {
            "Good"
        };
        Ok(json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.2",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": title,
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": true,
                            "style": "heading",
                            "color": color,
                        },
                        {"type": "TextBlock", "text": text, "wrap": true},
                    ],
                    "msteams": {"width": "full"},
                },
            }],
        }))
    }

    async fn send(&self, n: &Notification) -> Result<Delivered, NotifyError> {
        let body = self.payload(n)?;
        let url = self.endpoint.url(INTEGRATION).await?;
        self.poster.post(&url, &body).await?.check(INTEGRATION, &url)?;
        Ok(Delivered::default())
    }
}

impl Notifier for MsTeamsV2Notifier {
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
    fn adaptive_card_with_alertmanagers_texts() {
        let cfg = MsTeamsV2Config {
            webhook_url: Secret::new("http://127.0.0.1:9/wf"),
            ..Default::default()
        };
        let t = MsTeamsV2Notifier::new(&cfg, &Templates::builtin()).unwrap();
        let mut n = notification();
        let p = t.payload(&n).unwrap();
        let body = &p["attachments"][0]["content"]["body"];
        assert_eq!(body[0]["text"], "[FIRING:1] HighLatency (api page)");
        assert_eq!(body[0]["color"], "Attention");
        let text = body[1]["text"].as_str().unwrap();
        assert!(text.contains("# Alerts Firing:"), "{text}");
        assert!(text.contains("  - job = api"), "{text}");
        n.alerts[0].resolved = true;
        let p = t.payload(&n).unwrap();
        assert_eq!(p["attachments"][0]["content"]["body"][0]["color"], "Good");
    }
}
