//! Alert routing end to end with real components: the dispatcher and the
//! Alertmanager API served in-process on loopback, a webhook receiver,
//! Python's aiosmtpd as the SMTP server, Debian's amtool and prometheus.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use belfry::alerting::{Dispatcher, DispatcherOptions};
use belfry::config::Config;
use belfry::ingest::{IngestLimits, IngestMetrics};
use belfry::model::{Alert, AlertSource, Labels};
use belfry::scrape::ScrapeManager;
use belfry::selfmetrics::Registry;
use belfry::state::StateStore;
use belfry::tsdb::MemStorage;
use belfry::web::{self, AppState, Lifecycle, ReloadHandle, WebMetrics};
use parking_lot::{Mutex, RwLock};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::support::{ChildGuard, free_port, peer_binary};

/// Belfry's HTTP API and dispatcher, in-process on a loopback port.
struct Belfry {
    addr: SocketAddr,
    dispatcher: Arc<Dispatcher>,
    registry: Arc<Registry>,
    shutdown: CancellationToken,
}

impl Drop for Belfry {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn get_json(url: &str) -> Value {
    let text = reqwest::Client::new()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn start_belfry(yaml: &str, data_dir: Option<&Path>) -> Belfry {
    let config = Config::from_yaml_with_env(yaml, "test.yml", |_| None).expect("test config is valid");
    start_belfry_with(config, data_dir).await
}

async fn start_belfry_with(config: Config, data_dir: Option<&Path>) -> Belfry {
    belfry::install_crypto_provider();
    let registry = Registry::new();
    let state_store = data_dir.map(|d| StateStore::open(d).unwrap());
    let dispatcher = Dispatcher::new(
        config.alerting.as_ref(),
        DispatcherOptions {
            external_url: "http://belfry.test".into(),
            state: state_store,
            ..Default::default()
        },
        &registry,
    )
    .unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(dispatcher.clone().run(shutdown.clone()));
    let storage: Arc<dyn belfry::tsdb::Storage> = Arc::new(MemStorage::new());
    let (reload_tx, _reload_rx) = tokio::sync::mpsc::channel(1);
    let storage_for_rules = storage.clone();
    let state = Arc::new(AppState {
        storage: storage.clone(),
        exemplars: Arc::new(belfry::tsdb::ExemplarStore::new(0, &registry)),
        scrape: ScrapeManager::new(storage, &registry),
        registry: registry.clone(),
        lifecycle: Arc::new(Lifecycle::default()),
        reload: ReloadHandle::new(reload_tx),
        external_labels: RwLock::new(Labels::default()),
        max_request_body_bytes: 1 << 20,
        ingest_limits: IngestLimits::default(),
        ingest_metrics: IngestMetrics::new(&registry),
        metrics: WebMetrics::new(&registry),
        alerting: dispatcher.clone(),
        flood: None,
        rules: belfry::rules::RuleManager::new(
            storage_for_rules,
            None,
            &registry,
            belfry::rules::RuleManagerOptions::default(),
        ),
        query_options: Default::default(),
        guard: belfry::web::Guard::new(Default::default(), &registry),
        access: belfry::web::AccessControl::open(),
        transport: belfry::web::Transport::plain(),
        status: belfry::web::StatusInfo::new(
            Default::default(),
            Default::default(),
            "127.0.0.1:0".parse().unwrap(),
            Default::default(),
        ),
        logs: None,
        logql: None,
        errors: None,
        dashboards: std::sync::Arc::new(belfry::dashboards::Dashboards::in_memory()),
        runbooks: std::sync::Arc::new(belfry::runbooks::Runbooks::in_memory(
            &belfry::selfmetrics::Registry::new(),
        )),
        backup: None,
        reports: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = web::router(state);
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .unwrap();
    });
    Belfry {
        addr,
        dispatcher,
        registry,
        shutdown,
    }
}

/// A webhook receiver that answers 500 to the first `fail_first` requests.
#[derive(Clone)]
struct Hook {
    received: Arc<Mutex<Vec<Value>>>,
    attempts: Arc<AtomicUsize>,
    fail_first: usize,
}

async fn start_hook(fail_first: usize) -> (Hook, String) {
    let hook = Hook {
        received: Arc::default(),
        attempts: Arc::default(),
        fail_first,
    };
    async fn handle(State(h): State<Hook>, Json(body): Json<Value>) -> StatusCode {
        let n = h.attempts.fetch_add(1, Ordering::SeqCst);
        if n < h.fail_first {
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        h.received.lock().push(body);
        StatusCode::OK
    }
    let app = axum::Router::new()
        .route("/hook", post(handle))
        .with_state(hook.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (hook, url)
}

async fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn webhook_config(url: &str, extra_route: &str) -> String {
    format!(
        r#"
alerting:
  route:
    receiver: hook
    group_by: [alertname]
    group_wait: 200ms
    group_interval: 1s
    repeat_interval: 1h
{extra_route}
  receivers:
    - name: hook
      webhook_configs:
        - url: '{url}'
          http_config:
            authorization: {{credentials: s3cret}}
"#
    )
}

fn alert(name: &str, extra: &[(&str, &str)]) -> Alert {
    let mut pairs = vec![("alertname", name)];
    pairs.extend_from_slice(extra);
    Alert {
        labels: Labels::from_pairs(&pairs),
        annotations: Labels::from_pairs(&[("summary", "something broke")]),
        starts_at: std::time::SystemTime::now(),
        ends_at: std::time::SystemTime::now() + Duration::from_secs(600),
        generator_url: "http://belfry.test/graph".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_gets_alertmanager_json_and_resolved() {
    let (hook, url) = start_hook(0).await;
    let belfry = start_belfry(&webhook_config(&url, ""), None).await;
    belfry.dispatcher.sink(AlertSource::Rules).send(vec![
        alert("LmsDown", &[("service", "api")]),
        alert("LmsDown", &[("service", "web")]),
    ]);
    let first = wait_until("firing webhook", Duration::from_secs(10), || {
        hook.received.lock().first().cloned()
    })
    .await;
    assert_eq!(first["version"], "4");
    assert_eq!(first["status"], "firing");
    assert_eq!(first["receiver"], "hook");
    assert_eq!(first["groupLabels"]["alertname"], "LmsDown");
    assert_eq!(first["commonLabels"]["alertname"], "LmsDown");
    assert!(first["commonLabels"].get("service").is_none());
    assert_eq!(first["externalURL"], "http://belfry.test");
    assert_eq!(first["alerts"].as_array().unwrap().len(), 2);
    assert!(
        first["groupKey"]
            .as_str()
            .unwrap()
            .contains("alertname=\"LmsDown\"")
    );
    assert_eq!(first["alerts"][0]["fingerprint"].as_str().unwrap().len(), 16);

    // Resolve one: send_resolved (default true for webhooks) reports it.
    let mut resolved = alert("LmsDown", &[("service", "api")]);
    resolved.ends_at = std::time::SystemTime::now();
    belfry.dispatcher.sink(AlertSource::Rules).send(vec![resolved]);
    let second = wait_until("resolved webhook", Duration::from_secs(10), || {
        hook.received.lock().get(1).cloned()
    })
    .await;
    let statuses: Vec<&str> = second["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"resolved") && statuses.contains(&"firing"),
        "{second}"
    );
    // Nothing new: no third message within a few group intervals.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(hook.received.lock().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_receiver_is_retried_and_delivers_once_without_stalling_others() {
    let (flaky, flaky_url) = start_hook(2).await;
    let (dead_url, healthy) = ("http://127.0.0.1:9/hook".to_string(), start_hook(0).await);
    let (healthy, healthy_url) = healthy;
    let yaml = format!(
        r#"
alerting:
  route:
    receiver: flaky
    group_by: [alertname]
    group_wait: 100ms
    group_interval: 1s
    routes:
      - matchers: ['team="dead"']
        receiver: dead
      - matchers: ['team="ok"']
        receiver: healthy
  receivers:
    - name: flaky
      webhook_configs: [{{url: '{flaky_url}'}}]
    - name: dead
      webhook_configs: [{{url: '{dead_url}', timeout: 30s}}]
    - name: healthy
      webhook_configs: [{{url: '{healthy_url}'}}]
"#
    );
    let belfry = start_belfry(&yaml, None).await;
    belfry.dispatcher.sink(AlertSource::Rules).send(vec![
        alert("Flaky", &[]),
        alert("Dead", &[("team", "dead")]),
        alert("Healthy", &[("team", "ok")]),
    ]);
    wait_until("healthy delivery", Duration::from_secs(5), || {
        (!healthy.received.lock().is_empty()).then_some(())
    })
    .await;
    wait_until("flaky delivery", Duration::from_secs(10), || {
        (!flaky.received.lock().is_empty()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        flaky.received.lock().len(),
        1,
        "exactly one delivery after two failures"
    );
    assert_eq!(flaky.attempts.load(Ordering::SeqCst), 3);
    let metrics = belfry.registry.render();
    assert!(
        metrics.contains(r#"belfry_notifications_total{receiver="flaky",integration="webhook"} 3"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"belfry_notifications_failed_total{receiver="flaky",integration="webhook"} 2"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"belfry_notifications_failed_total{receiver="dead",integration="webhook"}"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silences_and_inhibition_mute_and_restart_does_not_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, url) = start_hook(0).await;
    let inhibit = "  inhibit_rules:\n    - source_matchers: ['severity=\"critical\"']\n      target_matchers: ['severity=\"warning\"']\n      equal: [service]\n";
    let yaml = webhook_config(&url, "") + inhibit;
    let yaml = yaml.replace("group_by: [alertname]", "group_by: ['...']");
    {
        let belfry = start_belfry(&yaml, Some(dir.path())).await;
        let client = reqwest::Client::new();
        let silence = serde_json::json!({
            "matchers": [{"name": "alertname", "value": "Silenced", "isRegex": false, "isEqual": true}],
            "startsAt": belfry::model::rfc3339(std::time::SystemTime::now()),
            "endsAt": belfry::model::rfc3339(std::time::SystemTime::now() + Duration::from_secs(3600)),
            "createdBy": "test", "comment": "maintenance",
        });
        let resp = client
            .post(format!("http://{}/api/v2/silences", belfry.addr))
            .header("content-type", "application/json")
            .body(silence.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        belfry.dispatcher.sink(AlertSource::Rules).send(vec![
            alert("Silenced", &[]),
            alert("Crit", &[("severity", "critical"), ("service", "db")]),
            alert("Warn", &[("severity", "warning"), ("service", "db")]),
        ]);
        wait_until("critical delivery", Duration::from_secs(5), || {
            (!hook.received.lock().is_empty()).then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let names: Vec<String> = hook
            .received
            .lock()
            .iter()
            .map(|m| m["commonLabels"]["alertname"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["Crit"]);
        let alerts = get_json(&format!("http://{}/api/v2/alerts", belfry.addr)).await;
        let state_of = |name: &str| {
            alerts
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["labels"]["alertname"] == name)
                .map(|a| a["status"].clone())
                .unwrap()
        };
        assert_eq!(state_of("Silenced")["state"], "suppressed");
        assert_eq!(state_of("Silenced")["silencedBy"].as_array().unwrap().len(), 1);
        assert_eq!(state_of("Warn")["inhibitedBy"].as_array().unwrap().len(), 1);
        assert_eq!(state_of("Crit")["state"], "active");
    }
    // Restart on the same state: the alerts come back from state.redb, the
    // silence still holds, and the notification log stops a repeat.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let belfry = start_belfry(&yaml, Some(dir.path())).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        hook.received.lock().len(),
        1,
        "no repeated notification after restart"
    );
    assert_eq!(belfry.dispatcher.silences().list().len(), 1);
    assert_eq!(belfry.dispatcher.alerts().len(), 3);
}

/// Python's aiosmtpd on a free loopback port, writing each message to
/// `out/<n>.eml`; None (the test skips) where it is not installed.
pub(crate) fn start_smtp_sink(out: &Path) -> Option<(ChildGuard, u16)> {
    let python = ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(python) = python else {
        if std::env::var_os("BELFRY_REQUIRE_PEERS").is_some() {
            panic!(
                "BELFRY_REQUIRE_PEERS is set but python3 with aiosmtpd is missing (scripts/install-test-deps)"
            );
        }
        eprintln!("skipping: python3 with aiosmtpd is not installed (scripts/install-test-deps installs it)");
        return None;
    };
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/py/smtp_sink.py");
    let mut child = Command::new(python)
        .arg(&script)
        .arg(port.to_string())
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready");
    Some((ChildGuard(child), port))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_reaches_a_real_smtp_server() {
    let out = tempfile::tempdir().unwrap();
    let Some((_smtp, port)) = start_smtp_sink(out.path()) else {
        return;
    };
    let yaml = format!(
        r#"
alerting:
  global:
    smtp_smarthost: '127.0.0.1:{port}'
    smtp_from: 'Belfry <belfry@lms.example>'
    smtp_require_tls: false
  route:
    receiver: staff
    group_by: [alertname]
    group_wait: 100ms
  receivers:
    - name: staff
      email_configs:
        - to: 'it@lms.example, tl@lms.example'
"#
    );
    let belfry = start_belfry(&yaml, None).await;
    belfry
        .dispatcher
        .sink(AlertSource::Rules)
        .send(vec![alert("ApiAvailabilityLow", &[("severity", "page")])]);
    let path = out.path().join("1.eml");
    let message = wait_until("delivered e-mail", Duration::from_secs(15), || {
        std::fs::read_to_string(&path).ok()
    })
    .await;
    assert!(
        message.contains("Subject: [FIRING:1] ApiAvailabilityLow (page)"),
        "{message}"
    );
    assert!(
        message.contains("X-Envelope-To: it@lms.example,tl@lms.example"),
        "{message}"
    );
    assert!(
        message.contains("text/plain") && message.contains("text/html"),
        "{message}"
    );
    assert!(message.contains("something broke"), "{message}");
}

/// A user's Alertmanager template files (`templates:` relative to the
/// config file, `define` blocks calling the built-in `__subject`) render
/// into the mail the SMTP server receives; a bad template file on reload is
/// refused with file:line and the running templates stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_templates_render_into_delivered_email() {
    let out = tempfile::tempdir().unwrap();
    let Some((_smtp, port)) = start_smtp_sink(out.path()) else {
        return;
    };
    let conf_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(conf_dir.path().join("templates")).unwrap();
    std::fs::write(
        conf_dir.path().join("templates/lms.tmpl"),
        r#"{{/* LMS e-mail, as an Alertmanager user writes it */}}
{{ define "email.lms.subject" }}[LMS {{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ template "__subject" . }}){{ end }}
{{ define "email.lms.html" }}<h1>{{ len .Alerts.Firing }} firing for {{ .Receiver }}</h1>
{{ range .Alerts.Firing }}<p class="alert">{{ .Labels.alertname }}/{{ .Labels.service }}: {{ .Annotations.summary | title }} since {{ .StartsAt | tz "UTC" | date "2006" }}</p>
{{ end }}<p>{{ "<b>safe</b>" | safeHtml }} {{ "<i>escaped</i>" }}</p><a href="{{ .ExternalURL }}">Belfry</a>{{ end }}
{{ define "email.lms.text" }}{{ range .Alerts.Firing }}* {{ .Labels.SortedPairs }}
{{ end }}group: {{ .GroupLabels.SortedPairs.Values | join "," }}{{ end }}
"#,
    )
    .unwrap();
    let config_path = conf_dir.path().join("belfry.yml");
    let config_yaml = |html_template: &str| {
        format!(
            r#"
alerting:
  templates: ['templates/*.tmpl']
  global:
    smtp_smarthost: '127.0.0.1:{port}'
    smtp_from: 'Belfry <belfry@lms.example>'
    smtp_require_tls: false
  route:
    receiver: lms-oncall
    group_by: [alertname]
    group_wait: 100ms
  receivers:
    - name: lms-oncall
      email_configs:
        - to: 'it@lms.example'
          html: '{{{{ template "{html_template}" . }}}}'
          text: '{{{{ template "email.lms.text" . }}}}'
          headers:
            Subject: '{{{{ template "email.lms.subject" . }}}}'
"#
        )
    };
    std::fs::write(&config_path, config_yaml("email.lms.html")).unwrap();
    let config = Config::load(&config_path).expect("config with templates loads");
    let belfry = start_belfry_with(config, None).await;
    belfry.dispatcher.sink(AlertSource::Rules).send(vec![alert(
        "CeleryQueueBacklog",
        &[("service", "celery"), ("severity", "page")],
    )]);
    let path = out.path().join("1.eml");
    let message = wait_until("delivered e-mail", Duration::from_secs(15), || {
        std::fs::read_to_string(&path).ok()
    })
    .await;
    // Unfold long header lines (RFC 5322) before looking for the subject.
    let message = message.replace("\r\n ", " ").replace("\n ", " ");
    let year = chrono::Utc::now().format("%Y").to_string();
    for want in [
        "Subject: [LMS FIRING] CeleryQueueBacklog ([FIRING:1] CeleryQueueBacklog (celery page))",
        "<h1>1 firing for lms-oncall</h1>",
        &format!("<p class=3D\"alert\">CeleryQueueBacklog/celery: Something Broke since {year}</p>"),
        "<b>safe</b> &lt;i&gt;escaped&lt;/i&gt;",
        "* alertname=3DCeleryQueueBacklog, service=3Dcelery, severity=3Dpage",
        "group: CeleryQueueBacklog",
    ] {
        let found = message.contains(want) || message.contains(&want.replace("=3D", "="));
        assert!(found, "want {want:?} in\n{message}");
    }

    // A broken template file is refused at reload, naming file and line;
    // the running configuration keeps delivering with the old templates.
    std::fs::write(
        conf_dir.path().join("templates/broken.tmpl"),
        "{{ define \"x\" }}\nok\n{{ range .Alerts }}\n{{ end }}{{ end }}{{ end }}\n",
    )
    .unwrap();
    let reloaded = Config::load(&config_path).expect("the YAML itself is fine");
    let err = belfry
        .dispatcher
        .reload(reloaded.alerting.as_ref())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("broken.tmpl:4: template:") && err.contains("unexpected {{end}}"),
        "{err}"
    );
    std::fs::remove_file(conf_dir.path().join("templates/broken.tmpl")).unwrap();
    // A text calling a template no file defines is refused too.
    std::fs::write(&config_path, config_yaml("email.nosuch.html")).unwrap();
    let reloaded = Config::load(&config_path).unwrap();
    let err = belfry
        .dispatcher
        .reload(reloaded.alerting.as_ref())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no such template \"email.nosuch.html\""), "{err}");
    belfry
        .dispatcher
        .sink(AlertSource::Rules)
        .send(vec![alert("SecondAlert", &[("service", "redis")])]);
    let path = out.path().join("2.eml");
    let message = wait_until("second e-mail", Duration::from_secs(15), || {
        std::fs::read_to_string(&path).ok()
    })
    .await;
    assert!(message.contains("[LMS FIRING] SecondAlert"), "{message}");
}

/// Prints a peer's log when the test fails, to say why.
struct PrintOnPanic(std::path::PathBuf);

impl Drop for PrintOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- {} ---\n{}",
                self.0.display(),
                std::fs::read_to_string(&self.0).unwrap_or_default()
            );
        }
    }
}

fn amtool(url: &str, args: &[&str]) -> String {
    let bin = peer_binary("amtool").unwrap();
    let out = Command::new(bin)
        .arg(format!("--alertmanager.url={url}"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "amtool {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amtool_lists_alerts_and_manages_silences() {
    if peer_binary("amtool").is_none() {
        return;
    }
    let (_hook, url) = start_hook(0).await;
    let belfry = start_belfry(&webhook_config(&url, ""), None).await;
    belfry
        .dispatcher
        .sink(AlertSource::Rules)
        .send(vec![alert("DiskFull", &[("instance", "db-1")])]);
    let base = format!("http://{}", belfry.addr);
    // `amtool config show` prints `config.original`: YAML, the webhook
    // URL (a secret, as Alertmanager treats it) redacted.
    let b = base.clone();
    let shown = tokio::task::spawn_blocking(move || amtool(&b, &["config", "show"]))
        .await
        .unwrap();
    assert!(shown.contains("url: <secret>"), "{shown}");
    assert!(!shown.contains(&url), "{shown}");
    let b = base.clone();
    let listed = wait_until("alert listed by amtool", Duration::from_secs(10), || {
        let out = amtool(&b, &["alert", "query", "-o", "json"]);
        out.contains("DiskFull").then_some(out)
    })
    .await;
    let parsed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(parsed[0]["labels"]["instance"], "db-1");

    let b = base.clone();
    let id = tokio::task::spawn_blocking(move || {
        amtool(
            &b,
            &[
                "silence",
                "add",
                "alertname=DiskFull",
                "--comment=disk swap",
                "--duration=1h",
                "--author=ops",
            ],
        )
    })
    .await
    .unwrap();
    let id = id.trim().to_string();
    assert_eq!(id.len(), 36, "{id}");
    let q = amtool(&base, &["silence", "query", "-q"]);
    assert_eq!(q.trim(), id);
    let silenced = amtool(&base, &["alert", "query", "--silenced", "-o", "json"]);
    assert!(silenced.contains(&id), "{silenced}");
    amtool(&base, &["silence", "expire", &id]);
    assert_eq!(amtool(&base, &["silence", "query", "-q"]).trim(), "");
    let expired = amtool(&base, &["silence", "query", "--expired", "-q"]);
    assert_eq!(expired.trim(), id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_sends_alerts_that_are_routed() {
    let Some(prometheus) = peer_binary("prometheus") else {
        return;
    };
    let (hook, url) = start_hook(0).await;
    let belfry = start_belfry(&webhook_config(&url, ""), None).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n  - name: always\n    interval: 1s\n    rules:\n      - alert: AlwaysFiring\n        expr: vector(1) > 0\n        labels: {severity: page}\n        annotations: {summary: from prometheus}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global: {{evaluation_interval: 1s}}\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n    - api_version: v2\n      static_configs: [{{targets: ['{}']}}]\n",
            belfry.addr
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new(prometheus)
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        // Alertmanagers are discovered ~5s after start; the first alert
        // is sent before that, so let Prometheus resend every second.
        .arg("--rules.alert.resend-delay=1s")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
        .spawn()
        .unwrap();
    let _prom = ChildGuard(child);
    let log = dir.path().join("prometheus.log");
    let _print_log = PrintOnPanic(log);
    let msg = wait_until(
        "prometheus alert routed to the webhook",
        Duration::from_secs(60),
        || hook.received.lock().first().cloned(),
    )
    .await;
    assert_eq!(msg["commonLabels"]["alertname"], "AlwaysFiring");
    assert_eq!(msg["commonLabels"]["severity"], "page");
    assert_eq!(msg["commonAnnotations"]["summary"], "from prometheus");
    assert!(
        msg["alerts"][0]["generatorURL"]
            .as_str()
            .unwrap()
            .contains("vector")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_refuses_bad_alerts_and_silences() {
    let belfry = start_belfry("", None).await;
    let client = reqwest::Client::new();
    let base = format!("http://{}", belfry.addr);
    let r = client
        .post(format!("{base}/api/v2/alerts"))
        .header("content-type", "application/json")
        .body("[{\"labels\": {}}]")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("label"));
    let r = client
        .post(format!("{base}/api/v2/alerts"))
        .header("content-type", "application/json")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client
        .post(format!("{base}/api/v2/silences"))
        .header("content-type", "application/json")
        .body(r#"{"matchers":[{"name":"a","value":".*","isRegex":true}],"startsAt":"2020-01-01T00:00:00Z","endsAt":"2999-01-01T00:00:00Z","createdBy":"x","comment":"y"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client
        .delete(format!("{base}/api/v2/silence/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let status = get_json(&format!("{base}/api/v2/status")).await;
    assert_eq!(status["cluster"]["status"], "disabled");
    // Posted without endsAt, the alert is held until resolve_timeout.
    let r = client
        .post(format!("{base}/api/v2/alerts"))
        .header("content-type", "application/json")
        .body(r#"[{"labels": {"alertname": "Posted"}}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let alerts = get_json(&format!("{base}/api/v2/alerts")).await;
    assert_eq!(alerts[0]["labels"]["alertname"], "Posted");
}

/// `GET /api/v2/alerts/groups` in Alertmanager's `alertGroups` shape
/// (`labels`, `receiver.name`, `alerts` as in `/api/v2/alerts`) with its
/// `filter`, `receiver`, `active`, `silenced` and `inhibited` parameters.
/// Debian's amtool has no command that reads groups, so the HTTP client
/// checks the documented shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_groups_api_in_alertmanager_shape() {
    let yaml = r#"
alerting:
  route:
    receiver: staff
    group_by: [alertname]
    group_wait: 1h
    routes:
      - matchers: ['severity="page"']
        receiver: pager
        continue: true
      - matchers: ['severity="page"']
        receiver: staff
  receivers:
    - name: staff
    - name: pager
"#;
    let belfry = start_belfry(yaml, None).await;
    let client = reqwest::Client::new();
    let base = format!("http://{}", belfry.addr);
    let r = client
        .post(format!("{base}/api/v2/alerts"))
        .header("content-type", "application/json")
        .body(
            r#"[{"labels": {"alertname": "ApiDown", "severity": "page", "instance": "web-1"}},
                {"labels": {"alertname": "ApiDown", "severity": "page", "instance": "web-2"}},
                {"labels": {"alertname": "CacheCold", "severity": "info"}}]"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let groups = |query: &'static str| {
        let url = format!("{base}/api/v2/alerts/groups{query}");
        async move { get_json(&url).await }
    };
    let all = wait_until_async(|| groups("")).await;
    let summary: Vec<(String, String, usize)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["labels"]["alertname"].as_str().unwrap().to_string(),
                g["receiver"]["name"].as_str().unwrap().to_string(),
                g["alerts"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("ApiDown".to_string(), "pager".to_string(), 2),
            ("ApiDown".to_string(), "staff".to_string(), 2),
            ("CacheCold".to_string(), "staff".to_string(), 1),
        ]
    );
    let first = &all[0];
    assert_eq!(first["labels"], serde_json::json!({"alertname": "ApiDown"}));
    let alert = &first["alerts"][0];
    for field in [
        "annotations",
        "startsAt",
        "endsAt",
        "updatedAt",
        "fingerprint",
        "receivers",
        "status",
    ] {
        assert!(alert.get(field).is_some(), "alert lacks {field}: {alert}");
    }
    assert_eq!(alert["labels"]["instance"], "web-1");
    assert_eq!(alert["status"]["state"], "active");

    let by_receiver = groups("?receiver=pag.*").await;
    assert_eq!(by_receiver.as_array().unwrap().len(), 1);
    assert_eq!(by_receiver[0]["receiver"]["name"], "pager");
    let filtered = groups("?filter=instance%3D%22web-2%22&receiver=pager").await;
    assert_eq!(filtered[0]["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(filtered[0]["alerts"][0]["labels"]["instance"], "web-2");

    // Silence CacheCold: it leaves the groups when silenced alerts are excluded.
    let r = client
        .post(format!("{base}/api/v2/silences"))
        .header("content-type", "application/json")
        .body(r#"{"matchers":[{"name":"alertname","value":"CacheCold","isRegex":false}],"startsAt":"2020-01-01T00:00:00Z","endsAt":"2999-01-01T00:00:00Z","createdBy":"test","comment":"known"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let unsilenced = groups("?silenced=false").await;
    assert!(
        unsilenced
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["labels"]["alertname"] == "ApiDown"),
        "{unsilenced}"
    );
    let silenced_only = groups("?active=false").await;
    assert_eq!(silenced_only.as_array().unwrap().len(), 1, "{silenced_only}");
    assert_eq!(silenced_only[0]["alerts"][0]["status"]["state"], "suppressed");
    let r = client
        .get(format!("{base}/api/v2/alerts/groups?active=maybe"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// Polls until the groups list is non-empty (alerts are ingested through a queue).
async fn wait_until_async<F, Fut>(mut f: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let v = f().await;
        if v.as_array().is_some_and(|a| !a.is_empty()) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for alert groups"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
