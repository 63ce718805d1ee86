//! The Slack integration: one message with one attachment (title, link,
//! color, fields, actions), POSTed as JSON to an incoming webhook or, with
//! an app token, to `chat.postMessage`. As Alertmanager: the title is cut
//! to 1024 characters; an answer must be `ok` (webhooks answer in plain
//! text) or JSON with `"ok": true`.

use serde_json::{Map, Value, json};

use super::chat_http::{Endpoint, JsonPoster, compile, host, render};
use super::setup_error::SetupError;
use super::template::Templates;
use super::{Delivered, Notification, Notifier, NotifyError, NotifyFuture};
use crate::config::alerting::SlackConfig;
use crate::template::Template;

const INTEGRATION: &str = "slack";
const MAX_TITLE_RUNES: usize = 1024;

struct Field {
    title: Template,
    value: Template,
    short: bool,
}

struct Action {
    texts: Vec<(&'static str, Template)>,
    confirm: Option<Vec<(&'static str, Template)>>,
}

pub struct SlackNotifier {
    poster: JsonPoster,
    endpoint: Endpoint,
    templates: Templates,
    send_resolved: bool,
    /// The request's templated strings, by JSON key.
    message: Vec<(&'static str, Template)>,
    /// The attachment's templated strings, by JSON key.
    attachment: Vec<(&'static str, Template)>,
    link_names: bool,
    mrkdwn_in: Vec<String>,
    fields: Vec<Field>,
    actions: Vec<Action>,
}

impl SlackNotifier {
    pub fn new(cfg: &SlackConfig, templates: &Templates) -> Result<SlackNotifier, SetupError> {
        let t = |what: &str, src: &str| compile(templates, INTEGRATION, what, src);
        let message = vec![
            ("channel", t("channel", &cfg.channel)?),
            ("username", t("username", &cfg.username)?),
            ("icon_emoji", t("icon_emoji", &cfg.icon_emoji)?),
            ("icon_url", t("icon_url", &cfg.icon_url)?),
            ("text", t("message_text", &cfg.message_text)?),
        ];
        let attachment = vec![
            ("title", t("title", &cfg.title)?),
            ("title_link", t("title_link", &cfg.title_link)?),
            ("pretext", t("pretext", &cfg.pretext)?),
            ("text", t("text", &cfg.text)?),
            ("fallback", t("fallback", &cfg.fallback)?),
            ("callback_id", t("callback_id", &cfg.callback_id)?),
            ("image_url", t("image_url", &cfg.image_url)?),
            ("thumb_url", t("thumb_url", &cfg.thumb_url)?),
            ("footer", t("footer", &cfg.footer)?),
            ("color", t("color", &cfg.color)?),
        ];
        let fields = cfg
            .fields
            .iter()
            .map(|f| {
                Ok(Field {
                    title: t("field title", &f.title)?,
                    value: t("field value", &f.value)?,
                    short: f.short.unwrap_or(cfg.short_fields),
                })
            })
            .collect::<Result<_, SetupError>>()?;
        let actions = cfg
            .actions
            .iter()
            .map(|a| {
                let confirm = match &a.confirm {
                    None => None,
                    Some(c) => Some(vec![
                        ("title", t("action confirm title", &c.title)?),
                        ("text", t("action confirm text", &c.text)?),
                        ("ok_text", t("action confirm ok_text", &c.ok_text)?),
                        ("dismiss_text", t("action confirm dismiss_text", &c.dismiss_text)?),
                    ]),
                };
                Ok(Action {
                    texts: vec![
                        ("type", t("action type", &a.kind)?),
                        ("text", t("action text", &a.text)?),
                        ("url", t("action url", &a.url)?),
                        ("style", t("action style", &a.style)?),
                        ("name", t("action name", &a.name)?),
                        ("value", t("action value", &a.value)?),
                    ],
                    confirm,
                })
            })
            .collect::<Result<_, SetupError>>()?;
        let mrkdwn_in = if cfg.mrkdwn_in.is_empty() {
            vec!["fallback".into(), "pretext".into(), "text".into()]
        } else {
            cfg.mrkdwn_in.clone()
        };
        Ok(SlackNotifier {
            poster: JsonPoster::new(INTEGRATION, &cfg.http_config, cfg.timeout)?,
            endpoint: Endpoint::new(&cfg.api_url, cfg.api_url_file.as_deref()),
            templates: templates.clone(),
            send_resolved: cfg.send_resolved,
            message,
            attachment,
            link_names: cfg.link_names,
            mrkdwn_in,
            fields,
            actions,
        })
    }

    fn render(&self, what: &str, t: &Template, n: &Notification) -> Result<String, NotifyError> {
        render(&self.templates, INTEGRATION, what, t, n)
    }

    /// The message Slack's API documents: top-level options and one
    /// attachment. Empty optional strings are left out, as Alertmanager's
    /// encoding does; `text`, `fallback`, `callback_id` and `footer` of the
    /// attachment are always present.
    pub(crate) fn payload(&self, n: &Notification) -> Result<(Value, Delivered), NotifyError> {
        let mut delivered = Delivered::default();
        let mut att = Map::new();
        for (key, t) in &self.attachment {
            let mut v = self.render(key, t, n)?;
            if *key == "title" {
                let (cut, truncated) = super::truncate::runes(v, MAX_TITLE_RUNES);
                v = cut;
                if truncated {
                    delivered.truncated.push("title");
                }
            }
            let always = matches!(*key, "text" | "fallback" | "callback_id" | "footer");
            if always || !v.is_empty() {
                att.insert(key.to_string(), Value::String(v));
            }
        }
        if !self.fields.is_empty() {
            let mut fields = Vec::new();
            for f in &self.fields {
                fields.push(json!({
                    "title": self.render("field title", &f.title, n)?,
                    "value": self.render("field value", &f.value, n)?,
                    "short": f.short,
                }));
            }
            att.insert("fields".into(), Value::Array(fields));
        }
        if !self.actions.is_empty() {
            let mut actions = Vec::new();
            for a in &self.actions {
                let mut m = strings(&self.templates, &a.texts, n)?;
                if let Some(c) = &a.confirm {
                    m.insert("confirm".into(), Value::Object(strings(&self.templates, c, n)?));
                }
                actions.push(Value::Object(m));
            }
            att.insert("actions".into(), Value::Array(actions));
        }
        att.insert("mrkdwn_in".into(), json!(self.mrkdwn_in));
        let mut msg = strings(&self.templates, &self.message, n)?;
        if self.link_names {
            msg.insert("link_names".into(), Value::Bool(true));
        }
        msg.insert("attachments".into(), json!([Value::Object(att)]));
        Ok((Value::Object(msg), delivered))
    }

    async fn send(&self, n: &Notification) -> Result<Delivered, NotifyError> {
        let (body, delivered) = self.payload(n)?;
        let url = self.endpoint.url(INTEGRATION).await?;
        let answer = self.poster.post(&url, &body).await?;
        let channel = body["channel"].as_str().unwrap_or_default();
        answer
            .check(INTEGRATION, &url)
            .map_err(|e| in_channel(channel, e))?;
        if !answer.json {
            if answer.body.as_ref() == b"ok" {
                return Ok(delivered);
            }
            return Err(in_channel(
                channel,
                NotifyError::permanent(format!(
                    "slack {}: error response: {}",
                    host(&url),
                    answer.body_text()
                )),
            ));
        }
        let reply: Value = serde_json::from_slice(&answer.body).map_err(|e| {
            NotifyError::retryable(format!(
                "slack {}: cannot parse the JSON answer {:?}: {e}",
                host(&url),
                answer.body_text()
            ))
        })?;
        if reply["ok"] == Value::Bool(true) {
            return Ok(delivered);
        }
        Err(in_channel(
            channel,
            NotifyError::permanent(format!(
                "slack {}: error response: {}",
                host(&url),
                reply["error"].as_str().unwrap_or("no error given")
            )),
        ))
    }
}

/// Rendered templated strings; empty ones are left out.
fn strings(
    templates: &Templates,
    texts: &[(&'static str, Template)],
    n: &Notification,
) -> Result<Map<String, Value>, NotifyError> {
    let mut m = Map::new();
    for (key, t) in texts {
        let v = render(templates, INTEGRATION, key, t, n)?;
        if !v.is_empty() {
            m.insert(key.to_string(), Value::String(v));
        }
    }
    Ok(m)
}

fn in_channel(channel: &str, e: NotifyError) -> NotifyError {
    NotifyError {
        message: format!("channel {channel:?}: {}", e.message),
        ..e
    }
}

impl Notifier for SlackNotifier {
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

    fn notifier(cfg: SlackConfig) -> SlackNotifier {
        SlackNotifier::new(&cfg, &Templates::builtin()).unwrap()
    }

    fn config() -> SlackConfig {
        SlackConfig {
            api_url: Secret::new("http://127.0.0.1:9/hook"),
            ..Default::default()
        }
    }

    #[test]
    fn default_message_is_alertmanagers() {
        let (p, d) = notifier(config()).payload(&notification()).unwrap();
        assert!(d.truncated.is_empty());
        assert_eq!(p["username"], "Belfry");
        assert!(p.get("channel").is_none());
        let a = &p["attachments"][0];
        assert_eq!(a["title"], "[FIRING:1] HighLatency (api page)");
        assert_eq!(a["color"], "danger");
        assert_eq!(a["title_link"], "http://belfry.example");
        assert_eq!(
            a["fallback"],
            "[FIRING:1] HighLatency (api page) | http://belfry.example"
        );
        assert_eq!(a["text"], "");
        assert_eq!(a["mrkdwn_in"], json!(["fallback", "pretext", "text"]));
    }

    #[test]
    fn long_titles_are_cut_and_reported() {
        let cfg = SlackConfig {
            title: "x".repeat(2000),
            ..config()
        };
        let (p, d) = notifier(cfg).payload(&notification()).unwrap();
        let title = p["attachments"][0]["title"].as_str().unwrap();
        assert_eq!(title.chars().count(), 1024);
        assert!(title.ends_with('…'));
        assert_eq!(d.truncated, vec!["title"]);
    }
}
