//! The chat and paging receivers end to end: `belfry serve` routes alerts
//! POSTed to `/api/v2/alerts` to Slack, Teams (Workflows), Discord,
//! Telegram and PagerDuty, here one local HTTP sink that checks each
//! request as the service's API documents it and answers as the service
//! does. A second test drives the dispatcher in-process to check how the
//! services' refusals are read (Slack's `ok`, Telegram's `ok`, retries).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use belfry::alerting::{Dispatcher, DispatcherOptions};
use belfry::config::Config;
use belfry::model::{Alert, AlertSource, Labels};
use belfry::selfmetrics::Registry;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::{BelfryServer, http_client, wait_for};

/// One request the sink received: which service's path, its headers of
/// interest, and its JSON body.
#[derive(Clone, Debug)]
struct Received {
    service: &'static str,
    path: String,
    content_type: String,
    authorization: String,
    body: Value,
}

#[derive(Clone, Default)]
struct Sink {
    received: Arc<Mutex<Vec<Received>>>,
    /// Answers the next this-many requests of a service with a failure.
    failures: Arc<Mutex<Vec<(&'static str, usize)>>>,
    attempts: Arc<AtomicUsize>,
}

impl Sink {
    fn of(&self, service: &str) -> Vec<Received> {
        self.received
            .lock()
            .iter()
            .filter(|r| r.service == service)
            .cloned()
            .collect()
    }

    fn record(&self, service: &'static str, path: String, headers: &HeaderMap, body: &Bytes) -> bool {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let get = |h: header::HeaderName| {
            headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let mut failures = self.failures.lock();
        if let Some(f) = failures.iter_mut().find(|(s, n)| *s == service && *n > 0) {
            f.1 -= 1;
            return false;
        }
        self.received.lock().push(Received {
            service,
            path,
            content_type: get(header::CONTENT_TYPE),
            authorization: get(header::AUTHORIZATION),
            body: serde_json::from_slice(body).unwrap_or(Value::Null),
        });
        true
    }
}

/// Serves the five services' endpoints on a loopback port; returns its base URL.
async fn start_sink(sink: Sink) -> String {
    async fn slack(State(s): State<Sink>, h: HeaderMap, body: Bytes) -> impl IntoResponse {
        if s.record("slack", "/services/T0/B0/XXX".into(), &h, &body) {
            // Incoming webhooks answer `ok` in plain text.
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain")],
                "ok".to_string(),
            );
        }
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain")],
            "invalid_token".to_string(),
        )
    }
    async fn slack_api(State(s): State<Sink>, h: HeaderMap, body: Bytes) -> impl IntoResponse {
        let ok = s.record("slack-app", "/api/chat.postMessage".into(), &h, &body);
        let answer = if ok {
            json!({"ok": true, "channel": "C1", "ts": "1.2"})
        } else {
            json!({"ok": false, "error": "channel_not_found"})
        };
        (StatusCode::OK, axum::Json(answer))
    }
    async fn teams(State(s): State<Sink>, h: HeaderMap, body: Bytes) -> StatusCode {
        if s.record("teams", "/workflows/wf1".into(), &h, &body) {
            StatusCode::ACCEPTED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        }
    }
    async fn discord(State(s): State<Sink>, h: HeaderMap, body: Bytes) -> StatusCode {
        if s.record("discord", "/api/webhooks/42/tok".into(), &h, &body) {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::BAD_REQUEST
        }
    }
    async fn telegram(
        State(s): State<Sink>,
        UrlPath(bot): UrlPath<String>,
        h: HeaderMap,
        body: Bytes,
    ) -> impl IntoResponse {
        if s.record("telegram", format!("/{bot}/sendMessage"), &h, &body) {
            return (
                StatusCode::OK,
                axum::Json(json!({"ok": true, "result": {"message_id": 1}})),
            );
        }
        (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(
                json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1"}),
            ),
        )
    }
    async fn pagerduty(State(s): State<Sink>, h: HeaderMap, body: Bytes) -> impl IntoResponse {
        if s.record("pagerduty", "/v2/enqueue".into(), &h, &body) {
            return (
                StatusCode::ACCEPTED,
                axum::Json(json!({"status": "success", "message": "Event processed"})),
            );
        }
        (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"status": "invalid event", "message": "Event object is invalid", "errors": ["Length of 'routing_key' is incorrect"]}),
            ),
        )
    }
    let app = axum::Router::new()
        .route("/services/T0/B0/XXX", post(slack))
        .route("/api/chat.postMessage", post(slack_api))
        .route("/workflows/wf1", post(teams))
        .route("/api/webhooks/42/tok", post(discord))
        .route("/{bot}/sendMessage", post(telegram))
        .route("/v2/enqueue", post(pagerduty))
        .with_state(sink);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn config(base: &str) -> String {
    format!(
        r#"
alerting:
  global:
    slack_api_url: '{base}/services/T0/B0/XXX'
    telegram_api_url: '{base}'
    pagerduty_url: '{base}/v2/enqueue'
  route:
    receiver: incident
    group_by: [alertname]
    group_wait: 200ms
    group_interval: 1s
    repeat_interval: 1h
  receivers:
    - name: incident
      slack_configs:
        - channel: '#incidents'
          fields:
            - {{title: Severity, value: '{{{{ .CommonLabels.severity }}}}', short: true}}
          actions:
            - {{type: button, text: Runbook, url: 'https://runbooks.example/{{{{ .GroupLabels.alertname }}}}'}}
      msteamsv2_configs:
        - webhook_url: '{base}/workflows/wf1'
      discord_configs:
        - webhook_url: '{base}/api/webhooks/42/tok'
          username: belfry
      telegram_configs:
        - bot_token: '123456:ABC-token'
          chat_id: -1001234
          message_thread_id: 7
      pagerduty_configs:
        - routing_key: 'R0UT1NGKEY0000000000000000000000'
          severity: '{{{{ .CommonLabels.severity }}}}'
          links: [{{href: 'https://dash.example/lms', text: Dashboard}}]
"#
    )
}

fn alert_json(ends_at: Option<&str>) -> Value {
    let mut a = json!({
        "labels": {"alertname": "LmsDown", "severity": "critical", "instance": "lms-1:443"},
        "annotations": {"summary": "LMS <web> is down"},
        "generatorURL": "http://belfry.test/graph",
    });
    if let Some(t) = ends_at {
        a["endsAt"] = Value::String(t.into());
    }
    json!([a])
}

#[test]
fn chat_receivers_get_each_services_documented_payload() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sink = Sink::default();
    let base = rt.block_on(start_sink(sink.clone()));
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("belfry.yml");
    std::fs::write(&cfg_path, config(&base)).unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), Some(&cfg_path));
    let post = |body: Value| {
        let url = server.url("/api/v2/alerts");
        rt.block_on(async {
            let resp = http_client()
                .post(&url)
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&body).unwrap())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 200, "{}", resp.text().await.unwrap());
        })
    };
    post(alert_json(None));
    let services = ["slack", "teams", "discord", "telegram", "pagerduty"];
    wait_for(
        Duration::from_secs(20),
        "a firing notification per service",
        || services.iter().all(|s| !sink.of(s).is_empty()).then_some(()),
    );
    for r in sink.received.lock().iter() {
        assert_eq!(r.content_type, "application/json", "{r:?}");
    }

    let slack = &sink.of("slack")[0].body;
    assert_eq!(slack["channel"], "#incidents");
    assert_eq!(slack["username"], "Belfry");
    let att = &slack["attachments"][0];
    assert_eq!(att["title"], "[FIRING:1] LmsDown (lms-1:443 critical)");
    assert_eq!(att["color"], "danger");
    assert_eq!(
        att["fields"],
        json!([{"title": "Severity", "value": "critical", "short": true}])
    );
    assert_eq!(
        att["actions"],
        json!([{"type": "button", "text": "Runbook", "url": "https://runbooks.example/LmsDown"}])
    );
    assert_eq!(att["mrkdwn_in"], json!(["fallback", "pretext", "text"]));

    let teams = &sink.of("teams")[0].body;
    assert_eq!(teams["type"], "message");
    let card = &teams["attachments"][0];
    assert_eq!(card["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    let body = &card["content"]["body"];
    assert_eq!(body[0]["text"], "[FIRING:1] LmsDown (lms-1:443 critical)");
    assert_eq!(body[0]["color"], "Attention");
    assert!(body[1]["text"].as_str().unwrap().contains("# Alerts Firing:"));

    let discord = &sink.of("discord")[0].body;
    assert_eq!(discord["username"], "belfry");
    let embed = &discord["embeds"][0];
    assert_eq!(embed["title"], "[FIRING:1] LmsDown (lms-1:443 critical)");
    assert_eq!(embed["color"], 0x992D22);
    assert!(
        embed["description"]
            .as_str()
            .unwrap()
            .contains(" - summary = LMS <web> is down")
    );

    let telegram = &sink.of("telegram")[0];
    assert_eq!(telegram.path, "/bot123456:ABC-token/sendMessage");
    assert_eq!(telegram.body["chat_id"], -1001234);
    assert_eq!(telegram.body["message_thread_id"], 7);
    assert_eq!(telegram.body["parse_mode"], "HTML");
    let text = telegram.body["text"].as_str().unwrap();
    // HTML parse mode: what the template prints is escaped.
    assert!(text.contains("summary = LMS &lt;web&gt; is down"), "{text}");

    let pd = &sink.of("pagerduty")[0].body;
    assert_eq!(pd["routing_key"], "R0UT1NGKEY0000000000000000000000");
    assert_eq!(pd["event_action"], "trigger");
    let dedup = pd["dedup_key"].as_str().unwrap().to_string();
    assert_eq!(dedup.len(), 64, "{dedup}");
    assert_eq!(
        pd["payload"]["summary"],
        "[FIRING:1] LmsDown (lms-1:443 critical)"
    );
    assert_eq!(pd["payload"]["severity"], "critical");
    assert_eq!(pd["payload"]["source"], "Belfry");
    assert_eq!(pd["client"], "Belfry");
    assert_eq!(pd["payload"]["custom_details"]["num_firing"], "1");
    assert_eq!(
        pd["links"],
        json!([{"href": "https://dash.example/lms", "text": "Dashboard"}])
    );

    // Resolve it: all but Slack (send_resolved is false by default there) hear.
    let past = ago(1);
    post(alert_json(Some(&past)));
    let resolved = ["teams", "discord", "telegram", "pagerduty"];
    wait_for(
        Duration::from_secs(20),
        "a resolved notification per service",
        || resolved.iter().all(|s| sink.of(s).len() == 2).then_some(()),
    );
    assert_eq!(
        sink.of("slack").len(),
        1,
        "slack does not send resolved by default"
    );
    let pd = &sink.of("pagerduty")[1].body;
    assert_eq!(pd["event_action"], "resolve");
    assert_eq!(pd["dedup_key"], dedup.as_str());
    assert_eq!(sink.of("discord")[1].body["embeds"][0]["color"], 0x2ECC71);
    let teams = &sink.of("teams")[1].body["attachments"][0]["content"]["body"][0];
    assert_eq!(teams["text"], "[RESOLVED] LmsDown (lms-1:443 critical)");
    assert_eq!(teams["color"], "Good");
    server.stop();
}

/// RFC 3339 for "now minus `secs`".
fn ago(secs: u64) -> String {
    let t = SystemTime::now() - Duration::from_secs(secs);
    belfry::model::rfc3339(t)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_read_as_each_service_means_them() {
    belfry::install_crypto_provider();
    let sink = Sink::default();
    // Slack's JSON `ok: false` and PagerDuty's 400 will not pass on a
    // retry; Telegram's 429 will.
    sink.failures
        .lock()
        .extend([("slack-app", 1), ("telegram", 2), ("pagerduty", 1)]);
    let base = start_sink(sink.clone()).await;
    let yaml = format!(
        r#"
alerting:
  route:
    receiver: r
    group_wait: 100ms
    group_interval: 1h
  receivers:
    - name: r
      slack_configs:
        - app_token: xoxb-123
          app_url: '{base}/api/chat.postMessage'
          channel: C1
      telegram_configs:
        - bot_token: '1:T'
          api_url: '{base}'
          chat_id: 5
          parse_mode: ''
      pagerduty_configs:
        - routing_key: k
          url: '{base}/v2/enqueue'
"#
    );
    let config = Config::from_yaml_with_env(&yaml, "test.yml", |_| None).unwrap();
    let registry = Registry::new();
    let dispatcher = Dispatcher::new(
        config.alerting.as_ref(),
        DispatcherOptions {
            external_url: "http://belfry.test".into(),
            ..Default::default()
        },
        &registry,
    )
    .unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(dispatcher.clone().run(shutdown.clone()));
    dispatcher.sink(AlertSource::Rules).send(vec![Alert {
        labels: Labels::from_pairs(&[("alertname", "QueueStuck")]),
        annotations: Labels::default(),
        starts_at: SystemTime::now(),
        ends_at: SystemTime::now() + Duration::from_secs(600),
        generator_url: String::new(),
    }]);
    let metric = |integration: &str, failed: bool| {
        let name = if failed {
            "belfry_notifications_failed_total"
        } else {
            "belfry_notifications_total"
        };
        let line = format!(r#"{name}{{receiver="r",integration="{integration}"}} "#);
        registry
            .render()
            .lines()
            .find_map(|l| l.strip_prefix(&line).map(str::to_string))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while sink.of("telegram").is_empty()
        || metric("slack", true).is_none()
        || metric("pagerduty", true).is_none()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out: {}",
            registry.render()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let telegram = &sink.of("telegram")[0];
    assert_eq!(telegram.path, "/bot1:T/sendMessage");
    assert_eq!(telegram.body["chat_id"], 5);
    assert!(telegram.body.get("parse_mode").is_none(), "{:?}", telegram.body);
    assert_eq!(metric("telegram", false).as_deref(), Some("3"));
    assert_eq!(metric("telegram", true).as_deref(), Some("2"));
    // Refusals that will not change are not retried before the next
    // group interval (an hour away); the retried Telegram message came
    // after two back-offs, later than a wrongly retried one would have.
    assert!(sink.of("slack-app").is_empty());
    assert!(sink.of("pagerduty").is_empty());
    assert_eq!(metric("slack", false).as_deref(), Some("1"));
    assert_eq!(metric("pagerduty", false).as_deref(), Some("1"));
    shutdown.cancel();
}

#[test]
fn slack_app_token_is_sent_as_bearer() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sink = Sink::default();
    let base = rt.block_on(start_sink(sink.clone()));
    let yaml = format!(
        "alerting:\n  global:\n    slack_app_token: xoxb-9\n    slack_app_url: '{base}/api/chat.postMessage'\n  \
         route: {{receiver: r, group_wait: 100ms}}\n  receivers:\n    - name: r\n      slack_configs: [{{channel: C9}}]\n"
    );
    let config = Config::from_yaml_with_env(&yaml, "test.yml", |_| None).unwrap();
    let registry = Registry::new();
    let shutdown = CancellationToken::new();
    rt.block_on(async {
        belfry::install_crypto_provider();
        let d = Dispatcher::new(config.alerting.as_ref(), DispatcherOptions::default(), &registry).unwrap();
        tokio::spawn(d.clone().run(shutdown.clone()));
        d.sink(AlertSource::Rules).send(vec![Alert {
            labels: Labels::from_pairs(&[("alertname", "A")]),
            annotations: Labels::default(),
            starts_at: SystemTime::now(),
            ends_at: SystemTime::now() + Duration::from_secs(600),
            generator_url: String::new(),
        }]);
    });
    let got = wait_for(Duration::from_secs(20), "the slack app message", || {
        sink.of("slack-app").first().cloned()
    });
    assert_eq!(got.authorization, "Bearer xoxb-9");
    assert_eq!(got.body["channel"], "C9");
    shutdown.cancel();
}
