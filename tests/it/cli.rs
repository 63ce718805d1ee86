//! The `belfry` command line and server lifecycle: `check config`, reload on
//! `POST /-/reload` and `SIGHUP`, `import`, and the loopback-only rule.

use std::process::Command;
use std::time::Duration;

use crate::support::{BelfryServer, get_json, wait_for};

fn belfry() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_belfry"));
    cmd.env_remove("BELFRY_CONFIG")
        .env_remove("BELFRY_LISTEN")
        .env_remove("BELFRY_DATA_DIR");
    cmd
}

#[test]
fn check_config_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    scrape_intervall: 5s\n",
    )
    .unwrap();
    let out = belfry().args(["check", "config"]).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:5:5", bad.display())), "{err}");
    assert!(err.contains("scrape_intervall"), "{err}");

    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/belfry.yml");
    let out = belfry().args(["check", "config", example]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn refuses_to_listen_beyond_loopback_without_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let out = belfry()
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to listen on 0.0.0.0:0"), "{err}");
}

fn job_names(server: &BelfryServer) -> Vec<String> {
    let v = get_json(&server.url("/api/v1/targets"));
    let mut jobs: Vec<String> = v["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["labels"]["job"].as_str().unwrap().to_string())
        .collect();
    jobs.sort();
    jobs
}

fn post(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = crate::support::http_client().post(url).send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    })
}

#[test]
fn reload_applies_good_configs_and_keeps_running_on_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("belfry.yml");
    let job = |name: &str| {
        format!(
            "scrape_configs:\n  - job_name: {name}\n    static_configs:\n      - targets: ['127.0.0.1:1']\n"
        )
    };
    std::fs::write(&config, job("first")).unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), Some(&config));
    assert_eq!(job_names(&server), ["first"]);

    // A bad file is refused with its reason; the running config stays.
    std::fs::write(&config, "scrape_configs:\n  - job_name: second\n    bogus: 1\n").unwrap();
    let (status, body) = post(&server.url("/-/reload"));
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("bogus") && body.contains(":3:5"), "{body}");
    assert_eq!(job_names(&server), ["first"]);

    // A good one applies through the HTTP endpoint…
    std::fs::write(&config, job("second")).unwrap();
    let (status, body) = post(&server.url("/-/reload"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(job_names(&server), ["second"]);

    // …and through SIGHUP.
    std::fs::write(&config, job("third")).unwrap();
    let ok = Command::new("kill")
        .arg("-HUP")
        .arg(server.pid().to_string())
        .status()
        .unwrap();
    assert!(ok.success());
    wait_for(Duration::from_secs(10), "the SIGHUP reload", || {
        (job_names(&server) == ["third"]).then_some(())
    });
    server.stop();
}

/// A reload checks every part before applying any: a broken alerting
/// template file refuses the whole reload, so the new rule files it came
/// with do not go live either.
#[test]
fn a_bad_template_refuses_the_whole_reload_rules_included() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("belfry.yml");
    std::fs::write(
        dir.path().join("first.yml"),
        "groups:\n  - name: first\n    rules:\n      - record: a\n        expr: vector(1)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("second.yml"),
        "groups:\n  - name: second\n    rules:\n      - record: b\n        expr: vector(2)\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("ok.tmpl"), "{{ define \"x\" }}ok{{ end }}\n").unwrap();
    let with = |rules: &str| {
        format!(
            "rule_files: ['{rules}']\nscrape_configs: []\nalerting:\n  templates: ['*.tmpl']\n  route:\n    receiver: none\n  receivers:\n    - name: none\n"
        )
    };
    std::fs::write(&config, with("first.yml")).unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), Some(&config));
    let groups = || -> Vec<String> {
        let v = get_json(&server.url("/api/v1/rules"));
        v["data"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(groups(), ["first"]);

    std::fs::write(
        dir.path().join("broken.tmpl"),
        "{{ define \"y\" }}\n{{ end }}{{ end }}\n",
    )
    .unwrap();
    std::fs::write(&config, with("second.yml")).unwrap();
    // `check config` finds the broken template as a reload would.
    let out = belfry().arg("check").arg("config").arg(&config).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.tmpl:2"), "{err}");
    let (status, body) = post(&server.url("/-/reload"));
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("broken.tmpl:2"), "{body}");
    assert_eq!(groups(), ["first"], "rules of a refused reload went live");

    std::fs::remove_file(dir.path().join("broken.tmpl")).unwrap();
    let (status, body) = post(&server.url("/-/reload"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(groups(), ["second"]);
    server.stop();
}

#[test]
fn import_backfills_a_file_that_the_server_then_serves() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("backfill.om");
    // Two days ago, so the whole range is well before anything the server
    // scrapes of itself.
    let t0 = (belfry::model::now_millis() / 1000 - 2 * 86_400) as f64;
    let mut body = String::from("# TYPE lms_enrollments gauge\n");
    for i in 0..240 {
        body.push_str(&format!(
            "lms_enrollments{{course=\"math\"}} {} {}\n",
            100 + i,
            t0 + i as f64 * 15.0
        ));
        body.push_str(&format!(
            "lms_enrollments{{course=\"art\"}} {} {}\n",
            7,
            t0 + i as f64 * 15.0
        ));
    }
    body.push_str("# EOF\n");
    std::fs::write(&file, &body).unwrap();

    let out = belfry()
        .arg("import")
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("imported 480 samples of 2 series"), "{said}");

    // A malformed file is refused with its line, and adds nothing.
    let bad = dir.path().join("bad.prom");
    std::fs::write(&bad, "ok_metric 1 1000\nbroken{ 2 2000\n").unwrap();
    let out = belfry()
        .arg("import")
        .arg(&bad)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2"), "{err}");

    let server = BelfryServer::start(&data, None);
    let start = t0 as i64;
    let end = start + 240 * 15;
    let v = get_json(&server.url(&format!(
        "/api/v1/series?match[]=lms_enrollments&start={start}&end={end}"
    )));
    assert_eq!(v["data"].as_array().unwrap().len(), 2, "{v}");
    let v = get_json(&server.url("/api/v1/series?match[]=ok_metric"));
    assert_eq!(v["data"].as_array().unwrap().len(), 0, "{v}");
    let at = start + 100 * 15;
    let v = get_json(&server.url(&format!(
        "/api/v1/query?query=lms_enrollments{{course=\"math\"}}&time={at}"
    )));
    assert_eq!(v["data"]["result"][0]["value"][1], "200", "{v}");
    server.stop();
}

#[test]
fn check_and_test_rules_commands() {
    let pack = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/lms/lms.yml");
    let out = belfry().args(["check", "rules", pack]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("SUCCESS"));

    let tests = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/lms/tests/lms_test.yml");
    let out = belfry().args(["test", "rules", tests]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m] > 1\n",
    )
    .unwrap();
    let out = belfry().args(["check", "rules"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stdout);
    // The error names the place in the expression, and the parser's reason.
    assert!(
        said.contains("bad.yml:5:29:") && said.contains("1:15: parse error: unclosed left parenthesis"),
        "{said}"
    );
}

#[test]
fn the_embedded_default_evaluates_the_lms_rule_pack() {
    let dir = tempfile::tempdir().unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), None);
    let v = get_json(&server.url("/api/v1/rules?type=alert"));
    let names: Vec<String> = v["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().iter())
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.len() >= 9, "{v}");
    assert!(names.iter().any(|n| n.contains("Celery")), "{names:?}");
    server.stop();
}
