//! `examples/belfry.yml`, the configuration docker-compose mounts, through
//! the real loader: the built-in LMS pack loads from `rule_files`, the
//! alerting receivers build with `${SMTP_PASSWORD}` from the environment,
//! and `belfry check config` accepts it and names unknown built-in packs.

use std::path::PathBuf;
use std::process::Command;

use belfry::alerting::Dispatcher;
use belfry::config::Config;
use belfry::model::Labels;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/belfry.yml")
}

/// The environment docker-compose.yml gives Belfry, as `${VAR}` lookups.
/// Every variable the example reads from the environment.
pub(crate) const EXAMPLE_ENV: &[&str] = &[
    "SMTP_PASSWORD",
    "BELFRY_ADMIN_PASSWORD",
    "BELFRY_LMS_DSN_KEY",
    "SMTP_SMARTHOST",
    "SMTP_FROM",
    "SMTP_USERNAME",
    "ALERT_EMAIL_TO",
    "ONCALL_EMAIL_TO",
];

/// A value for each of [`EXAMPLE_ENV`], as a deployment would set it.
pub(crate) fn example_env(name: &str) -> Option<String> {
    let value = match name {
        "SMTP_PASSWORD" => "hunter2",
        "BELFRY_ADMIN_PASSWORD" => "first-admin-pw",
        "BELFRY_LMS_DSN_KEY" => "0123456789abcdef0123456789abcdef",
        "SMTP_SMARTHOST" => "smtp.example.org:587",
        "SMTP_FROM" => "belfry@lms.example.org",
        "SMTP_USERNAME" => "belfry@lms.example.org",
        "ALERT_EMAIL_TO" => "lms-ops@example.org",
        "ONCALL_EMAIL_TO" => "lms-oncall@example.org",
        _ => return None,
    };
    Some(value.to_string())
}

fn alert_names(paths: &[PathBuf]) -> Vec<String> {
    belfry::rules::load_specs(paths)
        .unwrap()
        .iter()
        .flat_map(|g| g.rules.iter())
        .filter(|r| matches!(r.kind, belfry::rules::RuleKind::Alerting { .. }))
        .map(|r| r.name().to_string())
        .collect()
}

#[test]
fn the_example_loads_the_pack_and_builds_its_receivers() {
    let text = std::fs::read_to_string(example()).unwrap();
    let origin = example().display().to_string();
    let config = Config::from_yaml_with_env(&text, &origin, example_env).unwrap();

    assert_eq!(config.rule_files, vec!["builtin:lms".to_string()]);
    let paths = belfry::rules::expand_globs(&config.rule_files).unwrap();
    let alerts = alert_names(&paths);
    for a in [
        "LMSAPIAvailabilityLow",
        "LMSAPILatencyHigh",
        "LMSDBSlowQueries",
        "LMSAPIDown",
        "LMSExporterAbsent",
        "BelfryRuleEvaluationFailures",
    ] {
        assert!(alerts.iter().any(|n| n == a), "{a} not loaded: {alerts:?}");
    }
    // Every job the pack's up/absent alerts name is scraped by the example.
    for job in ["belfry", "lms-api", "postgres", "redis", "celery", "node"] {
        assert!(config.scrape_config(job).is_some(), "no job {job}");
    }

    let alerting = config
        .alerting
        .as_ref()
        .expect("the example has an alerting section");
    let email = &alerting.receivers[0].email_configs[0];
    assert_eq!(email.auth_password.expose(), "hunter2");
    assert_eq!(email.smarthost.as_deref(), Some("smtp.example.org:587"));
    let runtime = Dispatcher::prepare(Some(alerting)).unwrap();
    assert_eq!(runtime.receivers["lms-ops-email"].integrations.len(), 1);
    assert_eq!(
        runtime.receivers["lms-oncall"].integrations.len(),
        2,
        "e-mail and webhook"
    );
    let receivers = |labels: &[(&str, &str)]| -> Vec<String> {
        runtime
            .route
            .matching(&Labels::from_pairs(labels))
            .iter()
            .map(|r| r.receiver.clone())
            .collect()
    };
    assert_eq!(
        receivers(&[("alertname", "LMSAPIDown"), ("severity", "critical")]),
        ["lms-oncall"]
    );
    assert_eq!(
        receivers(&[("alertname", "LMSCacheHitRatioLow"), ("severity", "warning")]),
        ["lms-ops-email"]
    );
}

/// Without the variable the example is refused, naming it: a missing
/// secret never turns into an empty password silently.
#[test]
fn the_example_needs_smtp_password_set() {
    let text = std::fs::read_to_string(example()).unwrap();
    for missing in [
        "SMTP_PASSWORD",
        "BELFRY_ADMIN_PASSWORD",
        "BELFRY_LMS_DSN_KEY",
        "SMTP_SMARTHOST",
    ] {
        let err = Config::from_yaml_with_env(&text, "belfry.yml", |name| {
            (name != missing).then(|| example_env(name)).flatten()
        })
        .unwrap_err();
        assert!(err.to_string().contains(missing), "{err}");
    }
}

#[test]
fn check_config_accepts_the_example_and_lists_known_packs_for_an_unknown_one() {
    let mut check = Command::new(env!("CARGO_BIN_EXE_belfry"));
    check.args(["check", "config"]).arg(example());
    for name in [
        "SMTP_PASSWORD",
        "BELFRY_ADMIN_PASSWORD",
        "BELFRY_LMS_DSN_KEY",
        "SMTP_SMARTHOST",
        "SMTP_FROM",
        "SMTP_USERNAME",
        "ALERT_EMAIL_TO",
        "ONCALL_EMAIL_TO",
    ] {
        check.env(name, example_env(name).unwrap());
    }
    let out = check.output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("1 rule files"), "{said}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("belfry.yml");
    std::fs::write(&bad, "rule_files: ['builtin:lms', 'builtin:nope']\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_belfry"))
        .args(["check", "config"])
        .arg(&bad)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("unknown built-in rule pack \"nope\" (known: lms, lms-logs)"),
        "{said}"
    );
}

/// `docker-compose.yml` runs Belfry on the container network, not the
/// host's: its port published, listening beyond loopback with the first
/// admin from the environment, and every exporter the example scrapes is
/// a service of the file, reached by its name (the LMS's own API joins the
/// network from its own compose file).
#[test]
fn compose_runs_belfry_on_the_container_network() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let compose: serde_json::Value =
        serde_norway::from_str(&std::fs::read_to_string(root.join("docker-compose.yml")).unwrap()).unwrap();
    let services = compose["services"].as_object().unwrap();
    let belfry = &services["belfry"];
    assert!(belfry.get("network_mode").is_none(), "{belfry}");
    assert_eq!(belfry["ports"][0], "9900:9900");
    assert_eq!(belfry["environment"]["BELFRY_LISTEN"], "0.0.0.0:9900");
    assert!(
        belfry["environment"]["BELFRY_ADMIN_PASSWORD"]
            .as_str()
            .unwrap()
            .starts_with("${BELFRY_ADMIN_PASSWORD:?")
    );

    let text = std::fs::read_to_string(example()).unwrap();
    let config = Config::from_yaml_with_env(&text, "belfry.yml", example_env).unwrap();
    assert_eq!(config.auth.admin.as_ref().unwrap().user, "admin");
    for job in &config.scrape_configs {
        for target in job.static_configs.iter().flat_map(|g| &g.targets) {
            let host = target.rsplit_once(':').unwrap().0;
            match job.job_name.as_str() {
                "belfry" => assert_eq!(host, "127.0.0.1"),
                "lms-api" => assert_eq!(host, "lms-api"),
                _ => assert!(
                    services.contains_key(host),
                    "{} scrapes {target}, not a compose service",
                    job.job_name
                ),
            }
        }
    }
}
