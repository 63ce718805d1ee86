//! The configuration file: Prometheus compatibility, defaults, validation
//! and error positions.

use std::time::Duration;

use belfry::config::{ByteSize, Config, ConfigError, RelabelAction, Scheme, WalSync};

use belfry::model::PromDuration;

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_yaml_with_env(text, "belfry.yml", no_env)
}

fn err(text: &str) -> String {
    parse(text).expect_err("config should be rejected").to_string()
}

const PROMETHEUS_YML: &str = r#"
global:
  scrape_interval: 30s
  external_labels:
    site: campus-a

rule_files:
  - "rules/*.yml"

scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]

  - job_name: node
    scrape_interval: 15s
    scrape_timeout: 5s
    metrics_path: /metrics
    scheme: https
    honor_labels: true
    honor_timestamps: false
    params:
      collect[]: [cpu, meminfo]
    basic_auth:
      username: prom
      password: hunter2
    tls_config:
      ca_file: ca.pem
      server_name: node.internal
      insecure_skip_verify: false
    follow_redirects: false
    enable_http2: true
    sample_limit: 5000
    label_limit: 30
    label_name_length_limit: 100
    label_value_length_limit: 200
    body_size_limit: 10MB
    scrape_protocols: [OpenMetricsText1.0.0, PrometheusText0.0.4]
    file_sd_configs:
      - files: ["targets/*.json", "targets/*.yml"]
        refresh_interval: 1m
    static_configs:
      - targets: ["10.0.0.1:9100", "10.0.0.2:9100"]
        labels:
          env: prod
    relabel_configs:
      - source_labels: [__address__]
        regex: '(.*):\d+'
        target_label: host
        replacement: '${1}'
      - source_labels: [__address__]
        target_label: __tmp_hash
        modulus: 4
        action: hashmod
      - source_labels: [__tmp_hash]
        regex: '^1$'
        action: keep
      - action: labelmap
        regex: __meta_(.+)
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'go_gc_.*'
        action: drop
      - regex: 'instance_id'
        action: labeldrop

  - job_name: api
    authorization:
      credentials_file: /run/secrets/token
    static_configs:
      - targets: ['api:8000']
"#;

#[test]
fn a_prometheus_yml_scrape_section_loads_with_defaults() {
    let cfg = parse(PROMETHEUS_YML).unwrap();
    assert_eq!(cfg.global.scrape_interval, PromDuration::from_secs(30));
    assert_eq!(cfg.global.scrape_timeout, PromDuration::from_secs(10));
    assert_eq!(cfg.global.evaluation_interval, PromDuration::from_secs(60));
    assert_eq!(
        cfg.external_labels().get("site").map(String::as_str),
        Some("campus-a")
    );
    assert_eq!(cfg.rule_files, vec!["rules/*.yml".to_string()]);

    let prom = cfg.scrape_config("prometheus").unwrap();
    assert_eq!(
        prom.scrape_interval,
        PromDuration::from_secs(30),
        "inherited from global"
    );
    assert_eq!(prom.scrape_timeout, PromDuration::from_secs(10));
    assert_eq!(prom.metrics_path, "/metrics");
    assert_eq!(prom.scheme, Scheme::Http);
    assert!(prom.honor_timestamps && !prom.honor_labels && prom.follow_redirects);

    let node = cfg.scrape_config("node").unwrap();
    assert_eq!(node.scrape_interval, PromDuration::from_secs(15));
    assert_eq!(node.scrape_timeout, PromDuration::from_secs(5));
    assert_eq!(node.scheme, Scheme::Https);
    assert!(node.honor_labels && !node.honor_timestamps && !node.follow_redirects);
    assert_eq!(
        node.params["collect[]"],
        vec!["cpu".to_string(), "meminfo".to_string()]
    );
    assert_eq!(node.basic_auth.as_ref().unwrap().password.expose(), "hunter2");
    assert!(!format!("{node:?}").contains("hunter2"), "secrets never print");
    assert_eq!(node.sample_limit, 5000);
    assert_eq!(node.body_size_limit, ByteSize(10 << 20));
    assert_eq!(
        node.file_sd_configs[0].refresh_interval,
        PromDuration::from_secs(60)
    );
    assert_eq!(node.static_configs[0].labels["env"], "prod");
    assert_eq!(node.relabel_configs.len(), 4);
    assert_eq!(
        node.relabel_configs[0].replacement, "${1}",
        "regex references are not env-expanded"
    );
    assert_eq!(node.relabel_configs[1].action, RelabelAction::HashMod);
    assert_eq!(node.metric_relabel_configs[1].action, RelabelAction::LabelDrop);

    let api = cfg.scrape_config("api").unwrap();
    let auth = api.authorization.as_ref().unwrap();
    assert_eq!(auth.kind, "Bearer");
}

#[test]
fn unknown_key_is_reported_with_line_and_column() {
    let text =
        "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    scrape_intervall: 10s\n";
    let e = err(text);
    assert!(e.starts_with("belfry.yml:5:5: "), "{e}");
    assert!(e.contains("unknown field `scrape_intervall`"), "{e}");

    let e = err("alerting_typo: {}\n");
    assert!(e.starts_with("belfry.yml:1:1: "), "{e}");

    let e = err(
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [a:1]\n        lables: {}\n",
    );
    assert!(e.starts_with("belfry.yml:5:9: "), "{e}");
}

#[test]
fn bad_duration_is_reported_at_the_value() {
    let e = err("global:\n  scrape_interval: 15 seconds\n");
    assert!(e.starts_with("belfry.yml:2:3: "), "{e}");
    assert!(e.contains("not a valid duration string"), "{e}");
    assert!(err("global:\n  scrape_interval: 1.5m\n").contains("not a valid duration"));
    let cfg = parse("global:\n  scrape_interval: 1h30m\n  scrape_timeout: 100ms\n").unwrap();
    assert_eq!(
        cfg.global.scrape_interval.as_duration(),
        Duration::from_secs(5400)
    );
    assert_eq!(
        cfg.global.scrape_timeout.as_duration(),
        Duration::from_millis(100)
    );
}

#[test]
fn prometheus_validations() {
    let timeout =
        err("scrape_configs:\n  - job_name: slow\n    scrape_interval: 5s\n    scrape_timeout: 10s\n");
    assert!(timeout.starts_with("belfry.yml:2:5: "), "{timeout}");
    assert!(timeout.contains("job \"slow\"") && timeout.contains("greater than scrape_interval"));

    // A short job interval caps the inherited global timeout instead of failing.
    let cfg = parse("scrape_configs:\n  - job_name: fast\n    scrape_interval: 2s\n").unwrap();
    assert_eq!(cfg.scrape_configs[0].scrape_timeout, PromDuration::from_secs(2));

    let dup = err("scrape_configs:\n  - job_name: a\n  - job_name: a\n");
    assert!(
        dup.contains("multiple scrape configs with job name \"a\""),
        "{dup}"
    );
    assert!(err("global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n").contains("global"));
    assert!(err("global:\n  external_labels:\n    bad-name: x\n").contains("bad-name"));
    assert!(err("scrape_configs:\n  - job_name: a\n    scheme: ftp\n").contains("unknown variant `ftp`"));
    let re = err(
        "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - source_labels: [a]\n        regex: '(['\n        action: keep\n",
    );
    assert!(re.contains("invalid regular expression"), "{re}");
    assert!(re.starts_with("belfry.yml:"), "{re}");
    let both = err("scrape_configs:\n  - job_name: a\n    bearer_token: x\n    basic_auth: {username: u}\n");
    assert!(both.contains("at most one of basic_auth"), "{both}");
    let sd = err("scrape_configs:\n  - job_name: a\n    file_sd_configs:\n      - files: ['*/x.json']\n");
    assert!(sd.contains("not valid for file discovery"), "{sd}");
    let addr = err(
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['http://x:1/metrics']\n",
    );
    assert!(addr.contains("not a valid target address"), "{addr}");
    let proto = err("scrape_configs:\n  - job_name: a\n    scrape_protocols: [Nope]\n");
    assert!(proto.contains("unknown scrape protocol"), "{proto}");
    assert!(err("scrape_configs:\n  - job_name: ''\n").contains("job_name is empty"));
    assert!(
        err("scrape_configs:\n  - job_name: a\n    metrics_path: metrics\n").contains("must start with '/'")
    );
    let tls = err("scrape_configs:\n  - job_name: a\n    tls_config: {cert_file: c.pem}\n");
    assert!(tls.contains("without client key file"), "{tls}");
}

#[test]
fn bearer_token_becomes_an_authorization() {
    let cfg = parse("scrape_configs:\n  - job_name: a\n    bearer_token: abc\n").unwrap();
    let auth = cfg.scrape_configs[0].authorization.as_ref().unwrap();
    assert_eq!((auth.kind.as_str(), auth.credentials.expose()), ("Bearer", "abc"));
}

#[test]
fn environment_variables_expand_and_unset_ones_are_named() {
    let env = |name: &str| (name == "NODE_PASSWORD").then(|| "from-env".to_string());
    let text = "scrape_configs:\n  - job_name: a\n    basic_auth:\n      username: u\n      password: ${NODE_PASSWORD}\n";
    let cfg = Config::from_yaml_with_env(text, "belfry.yml", env).unwrap();
    assert_eq!(
        cfg.scrape_configs[0]
            .basic_auth
            .as_ref()
            .unwrap()
            .password
            .expose(),
        "from-env"
    );

    let e = Config::from_yaml_with_env(
        "global:\n  external_labels:\n    x: ${MISSING_VAR}\n",
        "belfry.yml",
        env,
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("belfry.yml:3:8: "), "{e}");
    assert!(e.contains("MISSING_VAR is not set"), "{e}");

    let cfg = Config::from_yaml_with_env("global:\n  external_labels:\n    x: 'a$${B}'\n", "f", env).unwrap();
    assert_eq!(cfg.global.external_labels["x"], "a${B}");
}

/// Values are expanded after parsing: what a variable holds can never
/// change the document's structure, and positions stay the file's own.
#[test]
fn environment_values_are_taken_literally_and_comments_are_not_expanded() {
    let env = |name: &str| {
        Some(
            match name {
                "PW" => "abc #def",
                "COLON" => "a: b",
                "STAR" => "*star",
                "NL" => "line1\nline2",
                "PORT" => "9100",
                _ => return None,
            }
            .to_string(),
        )
    };
    let text = "\
# ${UNSET_IN_COMMENT} is only a comment
scrape_configs:
  - job_name: a   # ${ALSO_UNSET}
    basic_auth:
      username: ${COLON}
      password: ${PW}
    static_configs:
      - targets: ['h:${PORT}']
        labels:
          star: ${STAR}
          nl: \"${NL}\"
";
    let cfg = Config::from_yaml_with_env(text, "belfry.yml", env).unwrap();
    let job = &cfg.scrape_configs[0];
    let auth = job.basic_auth.as_ref().unwrap();
    assert_eq!(auth.password.expose(), "abc #def");
    assert_eq!(auth.username, "a: b");
    assert_eq!(job.static_configs[0].targets, ["h:9100"]);
    assert_eq!(job.static_configs[0].labels["star"], "*star");
    assert_eq!(job.static_configs[0].labels["nl"], "line1\nline2");

    // A multi-line value does not move the place of a later error.
    let bad = "\
global:
  external_labels:
    nl: ${NL}
scrape_configs:
  - job_name: a
    scrape_interval: 5x
";
    let e = Config::from_yaml_with_env(bad, "belfry.yml", env)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("belfry.yml:5:5: ") && e.contains("\"5x\""), "{e}");

    // An unset variable in a value is still an error, at its place.
    let e = Config::from_yaml_with_env(
        "# ${FINE}\nscrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: 'x${GONE}'}\n",
        "belfry.yml",
        env,
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("belfry.yml:4:43: "), "{e}");
    assert!(e.contains("GONE is not set"), "{e}");
    // Keys are not expanded.
    let e = err("global:\n  ${KEY}: 1\n");
    assert!(e.contains("${KEY}"), "{e}");
}

#[test]
fn prometheus_limits_and_tls_versions_are_accepted() {
    let cfg = parse(
        "global:\n  target_limit: 3\n  keep_dropped_targets: 10\n  label_name_length_limit: 100\n\
         scrape_configs:\n  - job_name: a\n    target_limit: 2\n    body_size_limit: 10MB\n\
         \x20   label_value_length_limit: 200\n    enable_compression: false\n\
         \x20   tls_config: {min_version: TLS12, max_version: TLS13}\n  - job_name: b\n",
    )
    .unwrap();
    let (a, b) = (&cfg.scrape_configs[0], &cfg.scrape_configs[1]);
    assert_eq!((a.target_limit, b.target_limit), (2, 3));
    assert_eq!((a.keep_dropped_targets, b.label_name_length_limit), (10, 100));
    assert_eq!(a.label_value_length_limit, 200);
    assert_eq!(a.body_size_limit, ByteSize(10 << 20));
    assert!(!a.enable_compression && b.enable_compression);
    assert_eq!(a.tls_config.min_version, Some(belfry::config::TlsVersion::Tls12));

    let e = err("scrape_configs:\n  - job_name: a\n    tls_config:\n      min_version: TLS10\n");
    assert!(e.starts_with("belfry.yml:4:20: "), "{e}");
    assert!(
        e.contains("tls_config.min_version: TLS10 is not supported"),
        "{e}"
    );
    let e = err("scrape_configs:\n  - job_name: a\n    tls_config: {max_version: TLS14}\n");
    assert!(
        e.contains("tls_config.max_version: unknown TLS version \"TLS14\""),
        "{e}"
    );
    let e =
        err("scrape_configs:\n  - job_name: a\n    tls_config: {min_version: TLS13, max_version: TLS12}\n");
    assert!(
        e.contains("max_version TLS12 is lower than min_version TLS13"),
        "{e}"
    );
}

#[test]
fn belfry_sections_have_defaults_and_parse() {
    let cfg = parse("").unwrap();
    assert_eq!(cfg.storage.retention_time, PromDuration::from_secs(15 * 86400));
    assert_eq!(cfg.storage.wal.sync, WalSync::Interval(Duration::from_secs(1)));
    assert_eq!(cfg.server.listen_address, None);
    let cfg = parse(
        "storage:\n  retention_time: 30d\n  retention_size: 5GB\n  wal:\n    sync: always\n\
         server:\n  listen_address: 0.0.0.0:9900\n  request_body_limit: 8MB\n  label_limit: 40\n",
    )
    .unwrap();
    assert_eq!(cfg.storage.retention_size, ByteSize(5 << 30));
    assert_eq!(cfg.storage.wal.sync, WalSync::Always);
    assert_eq!(cfg.server.listen_address, Some("0.0.0.0:9900".parse().unwrap()));
    assert_eq!(cfg.server.request_body_limit, ByteSize(8 << 20));
    assert!(err("storage:\n  wal:\n    sync: sometimes\n").contains("invalid wal sync policy"));
    assert!(err("server:\n  listen_address: nowhere\n").starts_with("belfry.yml:2:19"));
}

#[test]
fn load_resolves_paths_relative_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("belfry.yml");
    std::fs::write(
        &path,
        "rule_files: [rules.yml]\nscrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password_file: pw}\n    file_sd_configs:\n      - files: [sd/*.json]\n",
    )
    .unwrap();
    let cfg = Config::load(&path).unwrap();
    let job = &cfg.scrape_configs[0];
    assert_eq!(
        job.basic_auth.as_ref().unwrap().password_file.as_deref(),
        Some(dir.path().join("pw").as_path())
    );
    assert_eq!(
        job.file_sd_configs[0].files[0],
        dir.path().join("sd/*.json").display().to_string()
    );
    assert_eq!(
        cfg.rule_files[0],
        dir.path().join("rules.yml").display().to_string()
    );

    let missing = Config::load(&dir.path().join("nope.yml"))
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("cannot read config file") && missing.contains("nope.yml"),
        "{missing}"
    );
}
