//! The PagerDuty integration: Events API v2 (`routing_key`) or v1
//! (`service_key`). As Alertmanager: a group is one incident, its
//! `dedup_key` (v1 `incident_key`) the SHA-256 of the group key, so a
//! later `resolve` closes what `trigger` opened; the summary is cut to
//! 1024 characters; an event over 512 000 bytes loses its custom details.
//! v2 answers 202; 429 and 5xx may pass later (v1: 403 too).

use std::collections::BTreeMap;
use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::chat_http::{JsonPoster, compile, render, secret_file};
use super::setup_error::SetupError;
use super::template::Templates;
use super::truncate::runes;
use super::{Delivered, Notification, Notifier, NotifyError, NotifyFuture};
use crate::config::Secret;
use crate::config::alerting::PagerdutyConfig;
use crate::template::Template;

const INTEGRATION: &str = "pagerduty";
const MAX_SUMMARY_RUNES: usize = 1024;
const MAX_EVENT_BYTES: usize = 512_000;

pub struct PagerdutyNotifier {
    poster: JsonPoster,
    templates: Templates,
    send_resolved: bool,
    v1: bool,
    url: String,
    key: Secret,
    key_file: Option<PathBuf>,
    texts: BTreeMap<&'static str, Template>,
    details: Vec<(String, Template)>,
    images: Vec<[Template; 3]>,
    links: Vec<[Template; 2]>,
}

impl PagerdutyNotifier {
    pub fn new(cfg: &PagerdutyConfig, templates: &Templates) -> Result<PagerdutyNotifier, SetupError> {
        let t = |what: &str, src: &str| compile(templates, INTEGRATION, what, src);
        let v1 = cfg.is_v1();
        let (key, key_file) = if v1 {
            (cfg.service_key.clone(), cfg.service_key_file.clone())
        } else {
            (cfg.routing_key.clone(), cfg.routing_key_file.clone())
        };
        let mut texts = BTreeMap::new();
        for (what, src) in [
            ("client", &cfg.client),
            ("client_url", &cfg.client_url),
            ("description", &cfg.description),
            ("source", &cfg.source),
            ("severity", &cfg.severity),
            ("class", &cfg.class),
            ("component", &cfg.component),
            ("group", &cfg.group),
        ] {
            texts.insert(what, t(what, src)?);
        }
        Ok(PagerdutyNotifier {
            poster: JsonPoster::new(INTEGRATION, &cfg.http_config, cfg.timeout)?,
            templates: templates.clone(),
            send_resolved: cfg.send_resolved,
            v1,
            url: cfg.url.clone().unwrap_or_default(),
            key,
            key_file,
            texts,
            details: cfg
                .details
                .iter()
                .map(|(k, v)| Ok((k.clone(), t(&format!("details {k}"), v)?)))
                .collect::<Result<_, SetupError>>()?,
            images: cfg
                .images
                .iter()
                .map(|i| {
                    Ok([
                        t("image src", &i.src)?,
                        t("image alt", &i.alt)?,
                        t("image href", &i.href)?,
                    ])
                })
                .collect::<Result<_, SetupError>>()?,
            links: cfg
                .links
                .iter()
                .map(|l| Ok([t("link href", &l.href)?, t("link text", &l.text)?]))
                .collect::<Result<_, SetupError>>()?,
        })
    }

    fn text(&self, what: &'static str, n: &Notification) -> Result<String, NotifyError> {
        render(&self.templates, INTEGRATION, what, &self.texts[what], n)
    }

    /// The event for this notification, given the (templated) key.
    pub(crate) fn event(&self, n: &Notification, key: &str) -> Result<(Value, Delivered), NotifyError> {
        let mut delivered = Delivered::default();
        let resolved = n.status() == "resolved";
        let dedup = hex::sha256(&n.group_key);
        let (description, cut) = runes(self.text("description", n)?, MAX_SUMMARY_RUNES);
        if cut {
            delivered.truncated.push("description");
        }
        let mut details = Map::new();
        for (k, t) in &self.details {
            let v = render(&self.templates, INTEGRATION, "details", t, n)?;
            details.insert(k.clone(), Value::String(v));
        }
        let key = render_key(&self.templates, key, n)?;
        let mut event = if self.v1 {
            let mut e = json!({
                "service_key": key,
                "event_type": if resolved { "resolve" } else { "trigger" },
                "incident_key": dedup,
                "description": description,
                "details": details,
            });
            if !resolved {
                e["client"] = Value::String(self.text("client", n)?);
                e["client_url"] = Value::String(self.text("client_url", n)?);
            }
            e
        } else {
            let mut payload = json!({
                "summary": description,
                "source": self.text("source", n)?,
                "severity": self.text("severity", n)?,
                "custom_details": details,
            });
            for what in ["class", "component", "group"] {
                let v = self.text(what, n)?;
                if !v.is_empty() {
                    payload[what] = Value::String(v);
                }
            }
            let mut e = json!({
                "routing_key": key,
                "event_action": if resolved { "resolve" } else { "trigger" },
                "dedup_key": dedup,
                "payload": payload,
            });
            for what in ["client", "client_url"] {
                let v = self.text(what, n)?;
                if !v.is_empty() {
                    e[what] = Value::String(v);
                }
            }
            let mut images = Vec::new();
            for [src, alt, href] in &self.images {
                let src = render(&self.templates, INTEGRATION, "image src", src, n)?;
                if src.is_empty() {
                    continue;
                }
                images.push(json!({
                    "src": src,
                    "alt": render(&self.templates, INTEGRATION, "image alt", alt, n)?,
                    "href": render(&self.templates, INTEGRATION, "image href", href, n)?,
                }));
            }
            let mut links = Vec::new();
            for [href, text] in &self.links {
                let href = render(&self.templates, INTEGRATION, "link href", href, n)?;
                if href.is_empty() {
                    continue;
                }
                links.push(json!({
                    "href": href,
                    "text": render(&self.templates, INTEGRATION, "link text", text, n)?,
                }));
            }
            if !images.is_empty() {
                e["images"] = Value::Array(images);
            }
            if !links.is_empty() {
                e["links"] = Value::Array(links);
            }
            e
        };
        let size = serde_json::to_vec(&event).map_or(0, |b| b.len());
        if size > MAX_EVENT_BYTES {
            let note = json!({"error": format!(
                "Custom details have been removed because the original event exceeds the maximum size of {MAX_EVENT_BYTES} bytes"
            )});
            if self.v1 {
                event["details"] = note;
            } else {
                event["payload"]["custom_details"] = note;
            }
            delivered.truncated.push("details");
        }
        Ok((event, delivered))
    }

    async fn send(&self, n: &Notification) -> Result<Delivered, NotifyError> {
        let key = match &self.key_file {
            Some(f) => secret_file(INTEGRATION, f).await?,
            None => self.key.expose().to_string(),
        };
        let (event, delivered) = self.event(n, &key)?;
        let answer = self.poster.post(&self.url, &event).await?;
        // v1 answers 403 when throttled.
        if self.v1 && answer.status == StatusCode::FORBIDDEN {
            return Err(NotifyError::retryable(format!(
                "pagerduty: throttled (403): {}",
                answer.body_text()
            )));
        }
        answer.check(INTEGRATION, &self.url)?;
        Ok(delivered)
    }
}

/// The key may itself be a template, as in Alertmanager; an empty one is
/// refused before sending.
fn render_key(templates: &Templates, key: &str, n: &Notification) -> Result<String, NotifyError> {
    let t = templates
        .compile(key)
        .map_err(|e| NotifyError::permanent(format!("pagerduty: key: {e}")))?;
    let key = render(templates, INTEGRATION, "key", &t, n)?;
    if key.is_empty() {
        return Err(NotifyError::permanent(
            "pagerduty: the routing or service key is empty",
        ));
    }
    Ok(key)
}

mod hex {
    use super::{Digest, Sha256};

    /// Alertmanager's key hash: SHA-256, lower-case hex.
    pub fn sha256(s: &str) -> String {
        Sha256::digest(s.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl Notifier for PagerdutyNotifier {
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
    use crate::config::alerting::AlertingGlobal;

    fn notifier(cfg: PagerdutyConfig) -> PagerdutyNotifier {
        PagerdutyNotifier::new(&cfg, &Templates::builtin()).unwrap()
    }

    #[test]
    fn dedup_key_is_sha256_of_the_group_key() {
        assert_eq!(
            hex::sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn v2_trigger_then_resolve() {
        let cfg = PagerdutyConfig {
            routing_key: Secret::new("r"),
            url: Some(AlertingGlobal::default().pagerduty_url),
            source: "{{ template \"pagerduty.default.client\" . }}".into(),
            ..Default::default()
        };
        let p = notifier(cfg);
        let mut n = notification();
        let (e, _) = p.event(&n, "key-1").unwrap();
        assert_eq!(e["routing_key"], "key-1");
        assert_eq!(e["event_action"], "trigger");
        assert_eq!(e["dedup_key"], hex::sha256(&n.group_key));
        assert_eq!(e["payload"]["summary"], "[FIRING:1] HighLatency (api page)");
        assert_eq!(e["payload"]["severity"], "error");
        assert_eq!(e["payload"]["source"], "Belfry");
        assert_eq!(e["client"], "Belfry");
        assert_eq!(e["client_url"], "http://belfry.example");
        n.alerts[0].resolved = true;
        let (e, _) = p.event(&n, "key-1").unwrap();
        assert_eq!(e["event_action"], "resolve");
    }
}
