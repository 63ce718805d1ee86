//! The LMS pack against a real FastAPI app (`py/lms_app.py`: the
//! instrumentator with its defaults and the app's upload counters): Belfry
//! scrapes it, every metric the pack's API rules read is in the store under
//! job `lms-api`, and the latency alert fires on a request slower than 2 s.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use promql_parser::parser::{self, Expr};
use promql_parser::util::{ExprVisitor, walk_expr};

use crate::support::{BelfryServer, ChildGuard, free_port, get_json, http_client, wait_for};

const PY_MODULES: &str = "import fastapi, uvicorn, prometheus_fastapi_instrumentator, prometheus_client";

/// `py/lms_app.py` on a free port; None (the test skips) where Python or
/// its packages are missing.
fn start_lms_app() -> Option<(ChildGuard, u16)> {
    let python = ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", PY_MODULES])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(python) = python else {
        if std::env::var_os("BELFRY_REQUIRE_PEERS").is_some() {
            panic!(
                "BELFRY_REQUIRE_PEERS is set but python3 with fastapi, uvicorn, prometheus-fastapi-instrumentator \
                 and prometheus_client is missing (scripts/install-test-deps)"
            );
        }
        eprintln!(
            "skipping: python3 with fastapi, uvicorn and prometheus-fastapi-instrumentator is not installed \
             (scripts/install-test-deps installs them)"
        );
        return None;
    };
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/py/lms_app.py");
    let mut child = Command::new(python)
        .arg(&script)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready", "lms_app.py did not start");
    Some((ChildGuard(child), port))
}

/// Metric names an expression selects.
struct Names(Vec<String>);

impl ExprVisitor for Names {
    type Error = ();
    fn pre_visit(&mut self, e: &Expr) -> Result<bool, ()> {
        let vs = match e {
            Expr::VectorSelector(v) => v,
            Expr::MatrixSelector(m) => &m.vs,
            _ => return Ok(true),
        };
        if let Some(n) = &vs.name
            && !self.0.contains(n)
        {
            self.0.push(n.clone());
        }
        Ok(true)
    }
}

/// Rule of the built-in pack by name.
fn pack_rule(name: &str) -> belfry::rules::RuleSpec {
    let pack = belfry::rules::builtin_pack("lms").unwrap();
    let file = belfry::rules::parse_rules(pack, "builtin:lms", Default::default()).unwrap();
    file.groups
        .into_iter()
        .flat_map(|g| g.rules)
        .find(|r| r.name() == name)
        .unwrap_or_else(|| panic!("the pack has no rule {name}"))
}

/// The scraped metrics the pack's API groups read (recording rules'
/// outputs, named `level:metric:operations`, excluded).
fn api_metric_names() -> Vec<String> {
    let pack = belfry::rules::builtin_pack("lms").unwrap();
    let file = belfry::rules::parse_rules(pack, "builtin:lms", Default::default()).unwrap();
    let mut names = Names(Vec::new());
    for g in file.groups.iter().filter(|g| g.name.starts_with("lms-api")) {
        for r in &g.rules {
            walk_expr(&mut names, &parser::parse(&r.expr).unwrap()).unwrap();
        }
    }
    names.0.retain(|n| !n.contains(':'));
    names.0.sort();
    names.0
}

/// Requests to the app: `(method, path, expected status)`.
fn drive(port: u16, requests: &[(&str, &str, u16)]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = http_client();
        for (method, path, status) in requests {
            let url = format!("http://127.0.0.1:{port}{path}");
            let req = match *method {
                "POST" => client.post(url),
                _ => client.get(url),
            };
            let resp = req.timeout(Duration::from_secs(30)).send().await.unwrap();
            assert_eq!(resp.status().as_u16(), *status, "{method} {path}");
        }
    });
}

#[test]
fn the_pack_reads_a_real_fastapi_app_and_its_latency_alert_fires() {
    let Some((_app, port)) = start_lms_app() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // The pack's latency alert with a short `for:`, so the test need not
    // wait ten minutes; its expression is the pack's, unchanged.
    let latency = pack_rule("LMSAPILatencyHigh");
    std::fs::write(
        tmp.path().join("latency.yml"),
        format!(
            "groups:\n  - name: latency-test\n    rules:\n      - alert: LMSAPILatencyHighNow\n        expr: '{}'\n        for: 2s\n",
            latency.expr
        ),
    )
    .unwrap();
    let cfg = tmp.path().join("belfry.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: lms-api\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n\
             rule_files: ['builtin:lms', 'latency.yml']\n"
        ),
    )
    .unwrap();
    let server = BelfryServer::start(&tmp.path().join("data"), Some(&cfg));
    drive(
        port,
        &[
            ("GET", "/api/courses", 200),
            ("GET", "/api/courses", 200),
            ("GET", "/api/courses/3", 200),
            ("GET", "/api/fail", 500),
            ("POST", "/api/upload?ok=true", 200),
            ("POST", "/api/upload?ok=false", 422),
        ],
    );
    // A series first seen at 1 has no increase to rate: the second 5xx
    // counts once the first has been scraped, as in Prometheus.
    wait_for(Duration::from_secs(20), "the first 5xx scraped", || {
        let v = get_json(&server.url("/api/v1/series?match[]=http_requests_total{status=\"5xx\"}"));
        (!v["data"].as_array().unwrap().is_empty()).then_some(())
    });
    drive(
        port,
        &[
            ("GET", "/api/courses", 200),
            ("GET", "/api/fail", 500),
            ("POST", "/api/upload?ok=true", 200),
            // Slower than the pack's 2 s threshold.
            ("GET", "/api/slow?seconds=2.5", 200),
        ],
    );

    let names = api_metric_names();
    for expected in [
        "http_requests_total",
        "http_request_duration_highr_seconds_bucket",
        "lms_file_uploads_total",
        "lms_file_upload_failures_total",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} not in {names:?}");
    }
    for name in &names {
        let url = server.url(&format!("/api/v1/series?match[]={name}{{job=\"lms-api\"}}"));
        wait_for(Duration::from_secs(20), &format!("{name} scraped"), || {
            let v = get_json(&url);
            (!v["data"].as_array().unwrap().is_empty()).then_some(())
        });
    }
    // The 5xx response is in the error ratio the availability alerts read.
    wait_for(Duration::from_secs(20), "a non-zero 5xx ratio", || {
        let v = get_json(&server.url("/api/v1/query?query=job:lms_http_errors:ratio_rate5m>0"));
        (!v["data"]["result"].as_array().unwrap().is_empty()).then_some(())
    });
    let alert = wait_for(Duration::from_secs(30), "LMSAPILatencyHighNow firing", || {
        let v = get_json(&server.url("/api/v1/alerts"));
        v["data"]["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["labels"]["alertname"] == "LMSAPILatencyHighNow" && a["state"] == "firing")
            .cloned()
    });
    assert_eq!(alert["labels"]["job"], "lms-api", "{alert}");
    let p99: f64 = alert["value"].as_str().unwrap().parse().unwrap();
    assert!(p99 > 2.0 && p99 <= 3.0, "p99 {p99} from a 2.5 s request");
    server.stop();
}

/// Every `metric{...}` occurrence in exposition or rule-test text, its
/// labels as (name, value) pairs (values may hold braces: `/{course_id}`).
fn label_sets(text: &str, metric: &str) -> Vec<Vec<(String, String)>> {
    let re = regex::Regex::new(&format!(
        r#"{}\{{((?:[^"}}]|"[^"]*")*)\}}"#,
        regex::escape(metric)
    ))
    .unwrap();
    let pair = regex::Regex::new(r#"([a-zA-Z_]+)="([^"]*)""#).unwrap();
    re.captures_iter(text)
        .map(|c| {
            pair.captures_iter(&c[1])
                .map(|p| (p[1].to_string(), p[2].to_string()))
                .collect()
        })
        .collect()
}

/// The pack's unit tests feed the series a real instrumentator exposes:
/// the captured scrape's bucket layout and label names, plus the `job` and
/// `instance` a scrape adds.
#[test]
fn the_pack_unit_tests_use_the_captured_instrumentator_layout() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scrape =
        std::fs::read_to_string(root.join("tests/fixtures/lms/fastapi_instrumentator.prom")).unwrap();
    let tests = std::fs::read_to_string(root.join("rules/lms/tests/lms_test.yml")).unwrap();
    let names = |sets: &[Vec<(String, String)>]| -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = sets
            .iter()
            .map(|s| {
                let mut n: Vec<String> = s
                    .iter()
                    .map(|(k, _)| k.clone())
                    .filter(|k| k != "job" && k != "instance")
                    .collect();
                n.sort();
                n
            })
            .collect();
        out.sort();
        out.dedup();
        out
    };
    let les = |sets: &[Vec<(String, String)>]| -> Vec<String> {
        let mut out: Vec<String> = sets
            .iter()
            .flat_map(|s| s.iter().filter(|(k, _)| k == "le").map(|(_, v)| v.clone()))
            .collect();
        out.dedup();
        out
    };
    for metric in [
        "http_requests_total",
        "http_request_duration_highr_seconds_bucket",
        "http_request_duration_seconds_bucket",
    ] {
        let real = label_sets(&scrape, metric);
        let used = label_sets(&tests, metric);
        assert!(!real.is_empty() && !used.is_empty(), "{metric}");
        assert_eq!(names(&used), names(&real), "{metric}: label names");
        if metric.ends_with("_bucket") {
            let mut real_les = les(&real);
            real_les.sort();
            real_les.dedup();
            let mut used_les = les(&used);
            used_les.sort();
            used_les.dedup();
            assert_eq!(used_les, real_les, "{metric}: buckets");
        }
    }
    for counter in ["lms_file_uploads_total", "lms_file_upload_failures_total"] {
        assert!(
            scrape.lines().any(|l| l.starts_with(&format!("{counter} "))),
            "{counter}"
        );
    }
}
