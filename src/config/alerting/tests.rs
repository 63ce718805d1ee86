use crate::config::{Config, ConfigError, FileError};

const FULL: &str = r#"
alerting:
  global:
    resolve_timeout: 5m
    smtp_smarthost: 'smtp.example.org:587'
    smtp_from: 'belfry@example.org'
    smtp_auth_username: 'belfry'
    smtp_auth_password: 'secret'
    smtp_require_tls: true
    smtp_hello: belfry.example.org
  route:
    receiver: ops
    group_by: ['alertname', 'service']
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 4h
    routes:
      - matchers: ['severity="critical"']
        receiver: pager
        continue: true
        active_time_intervals: [always]
      - match: {team: lms}
        match_re: {service: 'api|web'}
        receiver: ops
        group_by: ['...']
        mute_time_intervals: [exam-weeks]
  receivers:
    - name: ops
      email_configs:
        - to: 'ops@example.org'
          send_resolved: true
          headers:
            Subject: 'LMS {{ .Status }} {{ .CommonLabels.alertname }}'
    - name: pager
      webhook_configs:
        - url: 'http://127.0.0.1:9/hook'
          max_alerts: 10
          http_config:
            authorization:
              credentials: token
  inhibit_rules:
    - source_matchers: ['severity="critical"']
      target_matchers: ['severity="warning"']
      equal: [service]
    - source_match: {severity: page}
      target_match_re: {severity: 'info|warning'}
  time_intervals:
    - name: exam-weeks
      time_intervals:
        - months: ['june']
          days_of_month: ['1:14']
          location: Europe/London
    - name: always
      time_intervals: [{}]
"#;

#[test]
fn alertmanager_config_pastes_in() {
    let cfg = Config::from_yaml_with_env(FULL, "belfry.yml", |_| None).unwrap();
    let a = cfg.alerting.unwrap();
    assert_eq!(a.receivers.len(), 2);
    let email = &a.receivers[0].email_configs[0];
    assert_eq!(email.smarthost.as_deref(), Some("smtp.example.org:587"));
    assert_eq!(email.from.as_deref(), Some("belfry@example.org"));
    assert_eq!(email.auth_username.as_deref(), Some("belfry"));
    assert_eq!(email.hello.as_deref(), Some("belfry.example.org"));
    assert!(a.receivers[1].webhook_configs[0].send_resolved);
    let route = a.route.unwrap();
    assert_eq!(route.routes.len(), 2);
    assert!(route.routes[0].continue_matching);
}

fn error_of(text: &str) -> String {
    match Config::from_yaml_with_env(text, "belfry.yml", |_| None) {
        Ok(_) => panic!("config should be refused:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_routing_configs_are_refused_with_file_and_line() {
    let unknown_receiver = FULL.replace(
        "receiver: pager\n        continue",
        "receiver: nobody\n        continue",
    );
    let e = error_of(&unknown_receiver);
    assert!(e.starts_with("belfry.yml:"), "{e}");
    assert!(e.contains("nobody"), "{e}");
    let line: usize = e.split(':').nth(1).unwrap().parse().unwrap();
    assert_eq!(FULL.lines().nth(line - 1).unwrap().trim(), "receiver: pager");

    let bad_matcher = FULL.replace(
        r#"'severity="critical"']
        receiver"#,
        r#"'severity=~"("']
        receiver"#,
    );
    let e = error_of(&bad_matcher);
    assert!(e.contains("severity"), "{e}");
    assert!(e.starts_with("belfry.yml:"), "{e}");

    let unknown_key = FULL.replace("group_wait: 30s", "group_wiat: 30s");
    let e = error_of(&unknown_key);
    assert!(e.contains("group_wiat") && e.starts_with("belfry.yml:"), "{e}");

    let bad_interval = FULL.replace(
        "receiver: ops\n        group_by: ['...']",
        "receiver: ops\n        group_by: ['...', 'x']",
    );
    assert!(error_of(&bad_interval).contains("wildcard"));

    let undefined_interval = FULL.replace(
        "mute_time_intervals: [exam-weeks]",
        "mute_time_intervals: [holidays]",
    );
    assert!(error_of(&undefined_interval).contains("holidays"));

    let bad_location = FULL.replace("Europe/London", "Mars/Base");
    assert!(error_of(&bad_location).contains("Mars/Base"));

    let no_smtp = FULL.replace("    smtp_smarthost: 'smtp.example.org:587'\n", "");
    assert!(error_of(&no_smtp).contains("smarthost"));

    let bad_duration = FULL.replace("repeat_interval: 4h", "repeat_interval: 4 hours");
    assert!(error_of(&bad_duration).contains("duration"));
}

#[test]
fn route_is_required() {
    let text = "alerting:\n  receivers: [{name: x}]\n";
    let e = Config::from_yaml_with_env(text, "b.yml", |_| None).err().unwrap();
    assert!(
        matches!(e, ConfigError::File(FileError::At { line: 1, .. })),
        "{e}"
    );
    assert!(e.to_string().contains("no route"), "{e}");
}

#[test]
fn smtp_credentials_the_mail_client_cannot_use_are_refused_by_key() {
    let base = "alerting:\n  route: {receiver: r}\n  receivers:\n    - name: r\n      email_configs:\n        - to: a@example.org\n          from: b@example.org\n          smarthost: smtp.example.org:587\n          auth_username: u\n";
    for (extra, key) in [
        ("          auth_secret: s\n", "auth_secret"),
        ("          auth_identity: other\n", "auth_identity"),
    ] {
        let err = Config::from_yaml(&format!("{base}{extra}"), "c.yml")
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{err}");
    }
    Config::from_yaml(&format!("{base}          auth_identity: u\n"), "c.yml").unwrap();
    let global =
        "alerting:\n  global:\n    smtp_auth_secret: s\n  route: {receiver: r}\n  receivers: [{name: r}]\n";
    let err = Config::from_yaml(global, "c.yml").unwrap_err().to_string();
    assert!(
        err.contains("smtp_auth_secret") && err.contains("c.yml:3"),
        "{err}"
    );
}
