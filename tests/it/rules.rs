//! Rules: the promtool `test rules` corpus outcomes (MANIFEST.md), the LMS
//! rule pack's own unit tests, `check rules` on the pack and on the
//! guide's sample, and the rule manager end to end on MemStorage.

use std::path::{Path, PathBuf};

use belfry::rules::{TestOptions, test_rules};

use crate::support::shared_conformance_dir;

fn opts(at: bool, neg: bool, run: &[&str], ignore_unknown: bool) -> TestOptions {
    TestOptions {
        run: run.iter().map(|s| s.to_string()).collect(),
        ignore_unknown_fields: ignore_unknown,
        enable_at_modifier: at,
        enable_negative_offset: neg,
    }
}

fn outcome(dir: &Path, file: &str, o: &TestOptions) -> (i32, String) {
    let report = test_rules(&[dir.join(file)], o);
    (report.exit_code(), report.render())
}

/// Every row of promtool/MANIFEST.md, with its options.
#[test]
fn promtool_manifest_outcomes() {
    let Some(conf) = shared_conformance_dir() else {
        return;
    };
    let dir = conf.join("promtool");
    let none = opts(false, false, &[], false);
    let cases: Vec<(&str, TestOptions, i32, &str)> = vec![
        ("unittest.yml", none.clone(), 0, ""),
        ("long-period.yml", none.clone(), 0, ""),
        ("no-test-group-interval.yml", opts(false, true, &[], false), 0, ""),
        ("start-time-test.yml", opts(true, false, &[], false), 0, ""),
        ("at-modifier-test.yml", none.clone(), 1, "@ modifier is disabled"),
        ("at-modifier-test.yml", opts(true, false, &[], false), 0, ""),
        (
            "negative-offset-test.yml",
            none.clone(),
            1,
            "negative offset is disabled",
        ),
        ("negative-offset-test.yml", opts(false, true, &[], false), 0, ""),
        (
            "failing.yml",
            none.clone(),
            1,
            "alertname: InstanceDown, time: 5m",
        ),
        ("bad-input-series.yml", none.clone(), 1, "unclosed label set"),
        (
            "bad-promql.yml",
            none.clone(),
            1,
            "many-to-many matching not allowed",
        ),
        (
            "bad-rules-syntax-test.yml",
            none.clone(),
            1,
            "bad-rules-syntax.yml:7:22: group \"bad-syntax\", rule 1, \"x\": could not parse expression: 1:7: parse error",
        ),
        (
            "bad-rules-error-test.yml",
            none.clone(),
            1,
            "rule: joined, time: 0s",
        ),
        ("rules_run.yml", none.clone(), 1, "name: wrong test"),
        ("rules_run.yml", opts(false, false, &["correct"], false), 0, ""),
        (
            "rules_run.yml",
            opts(false, false, &["wrong"], false),
            1,
            "name: wrong test",
        ),
        (
            "rules_run_extrafields.yml",
            none.clone(),
            1,
            "unknown field `namespace`",
        ),
        ("rules_run_extrafields.yml", opts(false, false, &[], true), 0, ""),
        (
            "rules_run_no_fuzzy.yml",
            none.clone(),
            1,
            "Value:2.9999999999999996",
        ),
        (
            "rules_run_fuzzy.yml",
            opts(false, false, &["correct"], false),
            0,
            "",
        ),
        (
            "rules_run_fuzzy.yml",
            opts(false, false, &["wrong"], false),
            1,
            "Value:3.0000000000000013",
        ),
    ];
    let mut wrong = Vec::new();
    for (file, o, want, reason) in &cases {
        let (got, out) = outcome(&dir, file, o);
        if got != *want || !out.contains(reason) {
            wrong.push(format!(
                "{file} {o:?}: want {want} ({reason:?}), got {got}\n{out}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// unittest.yml's native-histogram checks can fail: a wrong bucket count
/// or a missing counter-reset hint in an expectation is reported, naming
/// the expression and both histograms.
#[test]
fn promtool_main_example_histogram_checks_can_fail() {
    let Some(conf) = shared_conformance_dir() else {
        return;
    };
    let dir = conf.join("promtool");
    let text = std::fs::read_to_string(dir.join("unittest.yml")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("rules.yml"), tmp.path().join("rules.yml")).unwrap();
    for (from, to, expr) in [
        (
            "{{count:4 sum:5.6 counter_reset_hint:not_reset buckets:[4]}}",
            "{{count:4 sum:5.6 counter_reset_hint:not_reset buckets:[5]}}",
            "test_histogram_increase",
        ),
        (
            "{{count:2 sum:3 counter_reset_hint:not_reset buckets:[2]}}",
            "{{count:2 sum:3 buckets:[2]}}",
            "test_histogram_repeat",
        ),
    ] {
        assert!(text.contains(from), "unittest.yml no longer has {from}");
        let changed = tmp.path().join("unittest.yml");
        std::fs::write(&changed, text.replace(from, to)).unwrap();
        let report = test_rules(&[changed], &TestOptions::default());
        let out = report.render();
        assert_eq!(report.exit_code(), 1, "{out}");
        assert!(out.contains(&format!("expr: \"{expr}\"")), "{out}");
        assert!(out.contains("Histogram:{{schema:0"), "{out}");
    }
}

fn lms_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules/lms")
}

/// The LMS pack's unit tests: every alert of the guide fires and resolves.
#[test]
fn lms_pack_unit_tests_pass() {
    let tests = lms_dir().join("tests/lms_test.yml");
    let report = test_rules(&[tests], &TestOptions::prometheus3());
    assert_eq!(report.exit_code(), 0, "{}", report.render());
    // Every alert of the pack is exercised by the tests.
    let pack = std::fs::read_to_string(lms_dir().join("lms.yml")).unwrap();
    let tests = std::fs::read_to_string(lms_dir().join("tests/lms_test.yml")).unwrap();
    for line in pack.lines().filter_map(|l| l.trim().strip_prefix("- alert: ")) {
        assert!(
            tests.contains(&format!("alertname: {line}")),
            "alert {line} has no unit test"
        );
    }
}

/// Debian's promtool agrees: the same pack tests pass there too.
#[test]
fn lms_pack_unit_tests_pass_under_promtool() {
    let Some(promtool) = crate::support::peer_binary("promtool") else {
        return;
    };
    let out = std::process::Command::new(promtool)
        .arg("test")
        .arg("rules")
        .arg(lms_dir().join("tests/lms_test.yml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A broken expectation in a pack test is caught (the tests can fail).
#[test]
fn lms_pack_tests_catch_a_wrong_threshold() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = std::fs::read_to_string(lms_dir().join("lms.yml")).unwrap();
    let broken = pack.replace(
        "max by (job, queue_name) (celery_queue_length) > 1000",
        "max by (job, queue_name) (celery_queue_length) > 5000",
    );
    assert_ne!(pack, broken);
    std::fs::write(tmp.path().join("lms.yml"), broken).unwrap();
    std::fs::create_dir(tmp.path().join("tests")).unwrap();
    std::fs::copy(
        lms_dir().join("tests/lms_test.yml"),
        tmp.path().join("tests/lms_test.yml"),
    )
    .unwrap();
    let report = test_rules(
        &[tmp.path().join("tests/lms_test.yml")],
        &TestOptions::prometheus3(),
    );
    assert_eq!(report.exit_code(), 1);
    assert!(
        report.render().contains("alertname: LMSCeleryQueueHigh"),
        "{}",
        report.render()
    );
}

#[test]
fn lms_pack_checks_clean() {
    let report = belfry::rules::check_rules(&[lms_dir().join("lms.yml")]);
    assert_eq!(report.exit_code(), 0, "{}", report.render());
    assert_eq!(report.warnings().count(), 0, "{}", report.render());
    assert_eq!(report.files[0].rules, 25);
}

/// `check rules` on the guide's sample alerts.yml (§5.1), extracted from
/// the guide as written, reports each of its defects.
#[test]
fn guide_sample_defects_are_reported() {
    let Some(conf) = shared_conformance_dir() else {
        return;
    };
    let guide = std::fs::read_to_string(conf.parent().unwrap().join("lms-observability-guide.md")).unwrap();
    let section = &guide[guide.find("### 5.1").expect("guide has §5.1")..];
    let start = section.find("```yaml").expect("§5.1 has a yaml block") + "```yaml".len();
    let end = start + section[start..].find("```").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("alerts.yml");
    std::fs::write(&path, &section[start..end]).unwrap();
    let report = belfry::rules::check_rules(&[path]);
    let text = report.render();
    assert_eq!(
        report.exit_code(),
        0,
        "the sample parses; its defects are warnings\n{text}"
    );
    let warnings: Vec<&str> = report.warnings().collect();
    let has = |alert: &str, what: &str| {
        warnings
            .iter()
            .any(|w| w.contains(&format!("alert \"{alert}\"")) && w.contains(what))
    };
    assert!(has("LMSAPILatencyHigh", "no comparison or filter"), "{text}");
    assert!(has("LMSAPIHighErrorRate", "humanizePercentage"), "{text}");
    assert!(has("LMSDBConnectionHigh", "humanizePercentage"), "{text}");
    assert!(
        has("LMSDBConnectionHigh", "postgresql_connections is not emitted"),
        "{text}"
    );
    assert!(
        has("LMSDBConnectionHigh", "pg_settings_max_connections"),
        "{text}"
    );
    // `status=~"5.."` matches the instrumentator's "5xx" (`.` matches `x`):
    // no status warning.
    assert!(!has("LMSAPIHighErrorRate", "status"), "{text}");
    // The well-formed alert in the sample draws no warning.
    assert!(
        !warnings.iter().any(|w| w.contains("LMSCeleryQueueHigh")),
        "{text}"
    );
}

mod manager {
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use belfry::config::Config;
    use belfry::model::{Alert, AlertSink, Labels};
    use belfry::rules::{RuleFilter, RuleManager, RuleManagerOptions};
    use belfry::selfmetrics::Registry;
    use belfry::tsdb::{MemStorage, Storage};
    use parking_lot::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Alert>>);

    impl AlertSink for Recorder {
        fn send(&self, alerts: Vec<Alert>) {
            self.0.lock().extend(alerts);
        }
    }

    const RULES: &str = r#"
groups:
  - name: g
    interval: 1m
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: Down
        expr: up == 0
        for: 15m
        labels: {severity: page}
        annotations:
          summary: "{{ $labels.job }} down ({{ $value }})"
"#;

    const MIN: i64 = 60_000;

    fn config(dir: &std::path::Path) -> Config {
        let yaml = format!(
            "global:\n  evaluation_interval: 1m\n  external_labels: {{site: campus}}\nrule_files: ['{}/*.yml']\n",
            dir.display()
        );
        Config::from_yaml(&yaml, "belfry.yml").unwrap()
    }

    fn write_up(storage: &MemStorage, t: i64, v: f64) {
        let mut app = storage.appender();
        app.append(&Labels::from_pairs(&[("__name__", "up"), ("job", "lms")]), t, v)
            .unwrap();
        app.commit().unwrap();
    }

    fn manager(storage: &Arc<MemStorage>, sink: &Arc<Recorder>) -> Arc<RuleManager> {
        RuleManager::new(
            storage.clone(),
            Some(sink.clone() as Arc<dyn AlertSink>),
            &Registry::new(),
            RuleManagerOptions::default(),
        )
    }

    #[test]
    fn records_alerts_restores_and_resolves() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("r.yml"), RULES).unwrap();
        let cfg = config(tmp.path());
        let storage = Arc::new(MemStorage::new());
        let sink = Arc::new(Recorder::default());

        let first = manager(&storage, &sink);
        first.apply_config(&cfg).unwrap();
        for m in 0..=3 {
            write_up(&storage, m * MIN, 0.0);
            first.eval_all(m * MIN);
        }
        let status = serde_json::to_value(first.rules_status(&RuleFilter::default())).unwrap();
        let rules = &status[0]["rules"];
        assert_eq!(rules[0]["type"], "recording");
        assert_eq!(rules[0]["health"], "ok");
        assert_eq!(rules[1]["state"], "pending");
        assert_eq!(rules[1]["alerts"][0]["annotations"]["summary"], "lms down (0)");
        assert_eq!(rules[1]["alerts"][0]["value"], "0e+00");
        assert_eq!(rules[1]["duration"], 900.0);
        drop(first);

        // A restart 5 minutes later: the alert keeps its 3 minutes of
        // pending progress, so it fires at 20m rather than at 23m.
        let second = manager(&storage, &sink);
        second.apply_config(&cfg).unwrap();
        for m in 4..=19 {
            write_up(&storage, m * MIN, 0.0);
            if m >= 8 {
                second.eval_all(m * MIN);
            }
        }
        assert!(sink.0.lock().is_empty(), "nothing fires before 20m");
        assert_eq!(second.alerts_status(None)[0].state, "pending");
        write_up(&storage, 20 * MIN, 0.0);
        second.eval_all(20 * MIN);
        let fired = sink.0.lock().clone();
        assert_eq!(fired.len(), 1, "{fired:?}");
        let a = &fired[0];
        assert_eq!(a.labels.get("alertname"), Some("Down"));
        assert_eq!(a.labels.get("site"), Some("campus"), "external labels are added");
        assert_eq!(a.starts_at, UNIX_EPOCH + Duration::from_secs(20 * 60));
        assert_eq!(
            a.ends_at,
            UNIX_EPOCH + Duration::from_secs(24 * 60),
            "valid for 4 × max(resend delay, interval)"
        );
        assert!(
            a.generator_url.contains("/graph?g0.expr=up+%3D%3D+0"),
            "{}",
            a.generator_url
        );

        // Recovery: the resolved alert is sent with ends_at = resolve time.
        write_up(&storage, 21 * MIN, 1.0);
        second.eval_all(21 * MIN);
        let sent = sink.0.lock().clone();
        let resolved = sent.last().unwrap();
        assert_eq!(resolved.ends_at, UNIX_EPOCH + Duration::from_secs(21 * 60));
        assert!(second.alerts_status(None).is_empty());

        // Recording rule output and ALERTS series are in storage.
        let engine = belfry::promql::Engine::new(Default::default(), &Registry::new());
        let q = storage.querier();
        let ctl = belfry::promql::QueryControl::default();
        let out = engine
            .instant_query(q.as_ref(), "job:up:sum", 21 * MIN, &ctl)
            .unwrap();
        assert!(
            matches!(out.value, belfry::promql::Value::Vector(ref v) if v.len() == 1 && v[0].v == 1.0),
            "{:?}",
            out.value
        );
        let out = engine
            .instant_query(q.as_ref(), r#"ALERTS{alertstate="firing"}"#, 20 * MIN, &ctl)
            .unwrap();
        assert!(
            matches!(out.value, belfry::promql::Value::Vector(ref v) if v.len() == 1),
            "{:?}",
            out.value
        );
        let out = engine
            .instant_query(q.as_ref(), "ALERTS", 21 * MIN, &ctl)
            .unwrap();
        assert!(
            matches!(out.value, belfry::promql::Value::Vector(ref v) if v.is_empty()),
            "ALERTS is stale after resolution: {:?}",
            out.value
        );
    }

    /// Independent rules evaluated concurrently give exactly what strict
    /// in-order evaluation gives, and a rule reading an earlier rule's
    /// output still sees it (it is not run concurrently).
    #[test]
    fn concurrent_evaluation_matches_sequential() {
        let mut yaml = String::from(
            "groups:\n  - name: g\n    rules:\n      - record: x:sum\n        expr: sum(x)\n      - alert: XHigh\n        expr: x:sum > 5\n",
        );
        for i in 0..20 {
            yaml.push_str(&format!(
                "      - record: x:scaled_{i}\n        expr: x * {i}\n      - alert: XAbove{i}\n        expr: x > {i}\n        annotations: {{v: '{{{{ $value }}}}'}}\n"
            ));
        }
        let run = |concurrency: usize| {
            let tmp = tempfile::tempdir().unwrap();
            std::fs::write(tmp.path().join("r.yml"), &yaml).unwrap();
            let storage = Arc::new(MemStorage::new());
            let mut app = storage.appender();
            for k in 0..5 {
                let l = Labels::from_pairs(&[("__name__", "x"), ("k", &k.to_string())]);
                app.append(&l, 0, k as f64 * 3.0).unwrap();
            }
            app.commit().unwrap();
            let m = RuleManager::new(
                storage.clone(),
                None,
                &Registry::new(),
                RuleManagerOptions {
                    max_concurrent_evals: concurrency,
                    ..Default::default()
                },
            );
            m.apply_config(&config(tmp.path())).unwrap();
            // ALERTS are written from the evaluation after start-up's restore.
            m.eval_all(MIN);
            m.eval_all(2 * MIN);
            let engine = belfry::promql::Engine::new(Default::default(), &Registry::new());
            let q = storage.querier();
            let out = engine
                .instant_query(
                    q.as_ref(),
                    "{__name__=~\"x:.*|ALERTS\"}",
                    2 * MIN,
                    &belfry::promql::QueryControl::default(),
                )
                .unwrap();
            let mut rows: Vec<String> = match out.value {
                belfry::promql::Value::Vector(v) => {
                    v.iter().map(|s| format!("{} {}", s.labels, s.v)).collect()
                }
                other => panic!("{other:?}"),
            };
            rows.sort();
            let status = serde_json::to_value(m.rules_status(&RuleFilter::default())).unwrap();
            let health: Vec<String> = status[0]["rules"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| format!("{} {}", r["name"], r["health"]))
                .collect();
            (rows, health)
        };
        let (sequential, seq_health) = run(1);
        let (concurrent, conc_health) = run(4);
        assert_eq!(sequential, concurrent);
        assert_eq!(seq_health, conc_health);
        assert!(seq_health.iter().all(|h| h.ends_with("\"ok\"")), "{seq_health:?}");
        // x:sum = 30 was visible to XHigh, which is pending.
        assert!(
            concurrent.iter().any(|r| r.contains("alertname=\"XHigh\"")),
            "{concurrent:?}"
        );
        assert_eq!(
            concurrent.iter().filter(|r| r.starts_with("x:scaled_")).count(),
            100
        );
    }

    /// Per-group duration and rule-count gauges, labelled as Prometheus's
    /// `prometheus_rule_group_last_duration_seconds` (`rule_group="FILE;GROUP"`);
    /// a group that goes away on reload loses its series.
    #[test]
    fn group_gauges_are_per_group_and_follow_reloads() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("r.yml"), RULES).unwrap();
        let cfg = config(tmp.path());
        let storage = Arc::new(MemStorage::new());
        let registry = Registry::new();
        let m = RuleManager::new(storage.clone(), None, &registry, RuleManagerOptions::default());
        m.apply_config(&cfg).unwrap();
        write_up(&storage, 0, 1.0);
        m.eval_all(0);
        let group = format!("{};g", tmp.path().join("r.yml").display());
        let text = registry.render();
        assert!(
            text.contains(&format!("belfry_rule_group_rules{{rule_group=\"{group}\"}} 2\n")),
            "{text}"
        );
        let line = text
            .lines()
            .find(|l| {
                l.starts_with(&format!(
                    "belfry_rule_group_last_duration_seconds{{rule_group=\"{group}\"}}"
                ))
            })
            .unwrap_or_else(|| panic!("no per-group duration in\n{text}"));
        let secs: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(secs > 0.0 && secs < 10.0, "{line}");

        std::fs::write(
            tmp.path().join("r.yml"),
            "groups:\n  - name: other\n    rules:\n      - record: one\n        expr: vector(1)\n",
        )
        .unwrap();
        m.apply_config(&cfg).unwrap();
        let text = registry.render();
        for gauge in [
            "belfry_rule_group_rules",
            "belfry_rule_group_last_duration_seconds",
        ] {
            let stale = format!("{gauge}{{rule_group=\"{group}\"}}");
            assert!(!text.contains(&stale), "{stale} after reload:\n{text}");
        }
        assert!(text.contains(";other\"} 1\n"), "{text}");
    }

    #[test]
    fn bad_reload_is_refused_and_old_rules_keep_running() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("r.yml"), RULES).unwrap();
        let cfg = config(tmp.path());
        let storage = Arc::new(MemStorage::new());
        let sink = Arc::new(Recorder::default());
        let m = manager(&storage, &sink);
        m.apply_config(&cfg).unwrap();
        std::fs::write(
            tmp.path().join("r.yml"),
            "groups:\n  - name: g\n    rules:\n      - alert: Broken\n        expr: 'rate(up[5m]'\n",
        )
        .unwrap();
        let err = m.apply_config(&cfg).unwrap_err().to_string();
        assert!(
            err.contains("r.yml:5:27:") && err.contains("could not parse expression: 1:12: parse error"),
            "{err}"
        );
        let names: Vec<String> = m.groups()[0]
            .lock()
            .rules
            .iter()
            .map(|r| r.name().to_string())
            .collect();
        assert_eq!(names, ["job:up:sum", "Down"]);
        write_up(&storage, 0, 0.0);
        m.eval_all(0);
        assert_eq!(m.alerts_status(None).len(), 1);
    }

    #[tokio::test]
    async fn run_evaluates_on_schedule_until_shutdown() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("r.yml"),
            "groups:\n  - name: fast\n    interval: 50ms\n    rules:\n      - record: one\n        expr: vector(1)\n",
        )
        .unwrap();
        let storage = Arc::new(MemStorage::new());
        let sink = Arc::new(Recorder::default());
        let m = manager(&storage, &sink);
        m.apply_config(&config(tmp.path())).unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(m.clone().run(stop.clone()));
        tokio::time::sleep(Duration::from_millis(400)).await;
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
        let status = serde_json::to_value(m.rules_status(&RuleFilter::default())).unwrap();
        assert_eq!(status[0]["rules"][0]["health"], "ok", "{status}");
    }
}

/// A real server loads the LMS pack: `/api/v1/rules` lists its groups in
/// Prometheus's shape, filters work, `/api/v1/alerts` answers, and a bad
/// rule file on reload is refused while the pack keeps running.
#[test]
fn server_serves_rules_and_alerts_api() {
    use crate::support::{BelfryServer, get_json, wait_for};
    let tmp = tempfile::tempdir().unwrap();
    let rules_dir = tmp.path().join("rules");
    std::fs::create_dir(&rules_dir).unwrap();
    std::fs::copy(lms_dir().join("lms.yml"), rules_dir.join("lms.yml")).unwrap();
    let cfg = tmp.path().join("belfry.yml");
    std::fs::write(
        &cfg,
        "global:\n  evaluation_interval: 1s\nrule_files: ['rules/*.yml']\n",
    )
    .unwrap();
    let server = BelfryServer::start(&tmp.path().join("data"), Some(&cfg));
    let body = get_json(&server.url("/api/v1/rules"));
    assert_eq!(body["status"], "success");
    let groups = body["data"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 6, "{body}");
    assert_eq!(groups[0]["name"], "lms-api-recording");
    assert_eq!(groups[0]["interval"], 1.0);
    let body = get_json(&server.url("/api/v1/rules?type=alert&rule_name[]=LMSCeleryQueueHigh"));
    let groups = body["data"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{body}");
    let rule = &groups[0]["rules"][0];
    assert_eq!(rule["type"], "alerting");
    assert_eq!(rule["duration"], 300.0);
    assert_eq!(rule["labels"]["severity"], "critical");
    // Rules get evaluated on their own.
    wait_for(std::time::Duration::from_secs(10), "a rule evaluation", || {
        let body = get_json(&server.url("/api/v1/rules?rule_name[]=job:lms_http_requests:rate5m"));
        (body["data"]["groups"][0]["rules"][0]["health"] == "ok").then_some(())
    });
    // With no targets at all, only the absent() alerts of the pack can be
    // active, and their `for:` keeps them pending here.
    let body = get_json(&server.url("/api/v1/alerts"));
    let alerts = body["data"]["alerts"].as_array().unwrap();
    assert!(alerts.iter().all(|a| a["state"] == "pending"), "{body}");
    let (code, text) = crate::support::http_get(&server.url("/api/v1/rules?type=bogus")).unwrap();
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("bad_data"), "{text}");

    std::fs::write(
        rules_dir.join("bad.yml"),
        "groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: 'up =='\n",
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (code, text) = rt.block_on(async {
        let r = crate::support::http_client()
            .post(server.url("/-/reload"))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    assert_ne!(code, 200, "{text}");
    // The `expr:` line and the column inside the quoted expression.
    assert!(text.contains("bad.yml:5:21:"), "{text}");
    let body = get_json(&server.url("/api/v1/rules"));
    assert_eq!(body["data"]["groups"].as_array().unwrap().len(), 6);
    server.stop();
}
