//! The `belfry` command line and server lifecycle: `check config`, reload on
//! `POST /-/reload` and `SIGHUP`, `import`, and the loopback-only rule.

use std::process::Command;
use std::time::Duration;

use crate::support::{BelfryServer, ChildGuard, free_port, get_json, http_get, wait_for};

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
    // The example reads its secrets and addresses from the environment.
    let mut check = belfry();
    check.args(["check", "config", example]);
    for name in crate::lms_example_config::EXAMPLE_ENV {
        check.env(name, crate::lms_example_config::example_env(name).unwrap());
    }
    let out = check.output().unwrap();
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
    let groups = || rule_groups(&server);
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

fn rule_groups(server: &BelfryServer) -> Vec<String> {
    let v = get_json(&server.url("/api/v1/rules"));
    v["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect()
}

/// A scrape job that cannot be built (its CA file is missing) refuses the
/// whole reload: the rule files that came with it do not go live, and the
/// running targets stay.
#[test]
fn a_bad_scrape_job_refuses_the_whole_reload_rules_included() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("belfry.yml");
    let rule = |group: &str| {
        format!("groups:\n  - name: {group}\n    rules:\n      - record: r\n        expr: vector(1)\n")
    };
    std::fs::write(dir.path().join("r1.yml"), rule("one")).unwrap();
    std::fs::write(dir.path().join("r2.yml"), rule("two")).unwrap();
    std::fs::write(
        &config,
        "rule_files: [r1.yml]\nscrape_configs:\n  - job_name: first\n    static_configs: [{targets: ['127.0.0.1:1']}]\n",
    )
    .unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), Some(&config));
    assert_eq!(rule_groups(&server), ["one"]);
    assert_eq!(job_names(&server), ["first"]);

    std::fs::write(
        &config,
        "rule_files: [r2.yml]\nscrape_configs:\n  - job_name: second\n    scheme: https\n\
         \x20   tls_config: {ca_file: missing-ca.pem}\n    static_configs: [{targets: ['127.0.0.1:1']}]\n",
    )
    .unwrap();
    let (status, body) = post(&server.url("/-/reload"));
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains("missing-ca.pem") && body.contains("\"second\""),
        "{body}"
    );
    assert_eq!(
        rule_groups(&server),
        ["one"],
        "rules of a refused reload went live"
    );
    assert_eq!(
        job_names(&server),
        ["first"],
        "targets of a refused reload changed"
    );

    // `check config` refuses it for the same reason, before any server sees it.
    let out = belfry().args(["check", "config"]).arg(&config).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing-ca.pem"));

    // Without the broken TLS settings, the same change applies as a whole.
    std::fs::write(
        &config,
        "rule_files: [r2.yml]\nscrape_configs:\n  - job_name: second\n    static_configs: [{targets: ['127.0.0.1:1']}]\n",
    )
    .unwrap();
    let (status, body) = post(&server.url("/-/reload"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(rule_groups(&server), ["two"]);
    assert_eq!(job_names(&server), ["second"]);
    server.stop();
}

/// `check config` prepares what serve and reload prepare: scrape clients
/// (TLS files) and rule files, not only the YAML.
#[test]
fn check_config_refuses_what_serve_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("belfry.yml");
    let check = || {
        let out = belfry().args(["check", "config"]).arg(&config).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    };
    std::fs::write(
        dir.path().join("bad.rules.yml"),
        "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: \"sum(\"\n",
    )
    .unwrap();
    std::fs::write(&config, "rule_files: ['*.rules.yml']\n").unwrap();
    let (ok, out) = check();
    assert!(!ok, "{out}");
    assert!(out.contains("bad.rules.yml:5:"), "{out}");

    std::fs::write(
        &config,
        "scrape_configs:\n  - job_name: tls\n    tls_config: {ca_file: /nonexistent/ca.pem}\n",
    )
    .unwrap();
    let (ok, out) = check();
    assert!(!ok, "{out}");
    assert!(
        out.contains("/nonexistent/ca.pem") && out.contains("\"tls\""),
        "{out}"
    );

    std::fs::write(
        dir.path().join("bad.rules.yml"),
        "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: sum(up)\n",
    )
    .unwrap();
    std::fs::write(
        &config,
        "rule_files: ['*.rules.yml']\nscrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['h:1']}]\n",
    )
    .unwrap();
    let (ok, out) = check();
    assert!(ok, "{out}");
    assert!(out.contains("ok (1 scrape configs, 1 rule files)"), "{out}");
}

/// `server.*` and `storage.*` cannot change while running: a reload that
/// changes them still applies the rest, and the log names what waits for
/// a restart.
#[test]
fn a_reload_names_the_keys_that_need_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("belfry.yml");
    let log = dir.path().join("belfry.log");
    let job = |name: &str| {
        format!("scrape_configs:\n  - job_name: {name}\n    static_configs: [{{targets: ['127.0.0.1:1']}}]\n")
    };
    std::fs::write(&config, job("first")).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let _child = ChildGuard(
        belfry()
            .args(["serve", "--listen", &addr, "--data-dir"])
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&config)
            .env("BELFRY_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for(Duration::from_secs(60), "the server to be ready", || {
        matches!(http_get(&format!("http://{addr}/-/ready")), Ok((200, _))).then_some(())
    });
    std::fs::write(
        &config,
        format!(
            "{}storage:\n  retention_time: 30d\nserver:\n  label_limit: 64\n",
            job("second")
        ),
    )
    .unwrap();
    let (status, body) = post(&format!("http://{addr}/-/reload"));
    assert_eq!(status, 200, "{body}");
    let logged = std::fs::read_to_string(&log).unwrap();
    let line = logged
        .lines()
        .find(|l| l.contains("only take effect after a restart"))
        .unwrap_or_else(|| panic!("no restart warning in:\n{logged}"));
    assert!(
        line.contains("storage.retention_time") && line.contains("server.label_limit"),
        "{line}"
    );
    assert!(!line.contains("server.listen_address"), "{line}");
    let targets = get_json(&format!("http://{addr}/api/v1/targets"));
    assert_eq!(targets["data"]["activeTargets"][0]["labels"]["job"], "second");
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
