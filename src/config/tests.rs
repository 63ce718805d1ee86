use super::*;
use crate::model::PromDuration;

#[test]
fn embedded_default_is_valid_and_scrapes_itself() {
    let cfg = Config::embedded_default();
    let job = cfg.scrape_config(SELF_JOB).expect("self job");
    assert_eq!(job.static_configs[0].targets, vec!["127.0.0.1:9900".to_string()]);
    assert_eq!(job.scrape_interval, PromDuration::from_secs(15));
    let moved = cfg.with_self_target("0.0.0.0:9911".parse().unwrap());
    let job = moved.scrape_config(SELF_JOB).unwrap();
    assert_eq!(job.static_configs[0].targets, vec!["127.0.0.1:9911".to_string()]);
}

#[test]
fn only_jobs_scraping_this_server_get_its_self_scrape_credential() {
    let yaml = "scrape_configs:\n\
  - {job_name: belfry, static_configs: [{targets: ['127.0.0.1:9900']}]}\n\
  - {job_name: by-name, static_configs: [{targets: ['localhost:9900', '[::1]:9900']}]}\n\
  - {job_name: other-port, static_configs: [{targets: ['127.0.0.1:9100']}]}\n\
  - {job_name: mixed, static_configs: [{targets: ['127.0.0.1:9900', 'lms:9900']}]}\n\
  - {job_name: own-auth, basic_auth: {username: u, password: p}, static_configs: [{targets: ['127.0.0.1:9900']}]}\n";
    let cfg = Config::from_yaml_with_env(yaml, "x.yml", |_| None)
        .unwrap()
        .with_self_scrape_credentials("127.0.0.1:9900".parse().unwrap(), "bfy_self");
    let credential = |job: &str| {
        cfg.scrape_config(job)
            .unwrap()
            .authorization
            .as_ref()
            .map(|a| a.credentials.expose().to_string())
    };
    assert_eq!(credential("belfry").as_deref(), Some("bfy_self"));
    assert_eq!(credential("by-name").as_deref(), Some("bfy_self"));
    assert_eq!(credential("other-port"), None);
    assert_eq!(credential("mixed"), None, "never sent to another host");
    assert_eq!(credential("own-auth"), None);
}

#[test]
fn builtin_rule_packs_are_names_not_paths() {
    assert_eq!(
        Config::embedded_default().rule_files,
        vec!["builtin:lms".to_string()]
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("belfry.yml");
    std::fs::write(&path, "rule_files: ['builtin:lms', 'rules/*.yml']\n").unwrap();
    let cfg = Config::load(&path).unwrap();
    assert_eq!(cfg.rule_files[0], "builtin:lms");
    assert_eq!(
        cfg.rule_files[1],
        dir.path().join("rules/*.yml").display().to_string()
    );
    let err = Config::from_yaml_with_env("rule_files: ['builtin:']\n", "x.yml", |_| None).unwrap_err();
    assert!(err.to_string().contains("names no built-in rule pack"), "{err}");
}

#[test]
fn server_tls_files_are_resolved_and_checked_at_load() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tls")).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.path().join("tls/cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("tls/key.pem"), key.serialize_pem()).unwrap();
    let path = dir.path().join("belfry.yml");
    let write = |text: &str| std::fs::write(&path, text).unwrap();

    write("server:\n  tls:\n    cert_file: tls/cert.pem\n    key_file: tls/key.pem\n    hsts_max_age: 1d\n");
    let cfg = Config::load(&path).unwrap();
    let tls = cfg.server.tls.as_ref().unwrap();
    assert_eq!(tls.cert_file, dir.path().join("tls/cert.pem"));
    assert_eq!(tls.key_file, dir.path().join("tls/key.pem"));
    assert_eq!(tls.hsts_max_age_secs(), Some(86_400));
    // The default HSTS is a year.
    write("server:\n  tls: {cert_file: tls/cert.pem, key_file: tls/key.pem}\n");
    let cfg = Config::load(&path).unwrap();
    assert_eq!(cfg.server.tls.unwrap().hsts_max_age_secs(), Some(31_536_000));

    // Both files are required.
    write("server:\n  tls:\n    cert_file: tls/cert.pem\n");
    let err = Config::load(&path).unwrap_err().to_string();
    assert!(err.contains("key_file"), "{err}");

    // A pair that does not load is refused at the `server` key, naming
    // the file and the problem.
    write("global: {}\nserver:\n  tls:\n    cert_file: tls/key.pem\n    key_file: tls/key.pem\n");
    let err = Config::load(&path).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{}:2:1: server.tls: no certificate found in ",
            path.display()
        )) && err.contains("tls/key.pem"),
        "{err}"
    );
    write("server:\n  tls:\n    cert_file: tls/cert.pem\n    key_file: tls/missing.pem\n");
    let err = Config::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("server.tls: cannot read ") && err.contains("missing.pem"),
        "{err}"
    );
}

#[test]
fn empty_text_is_the_default_config() {
    let cfg = Config::from_yaml_with_env("# nothing\n", "x.yml", |_| None).unwrap();
    assert!(cfg.scrape_configs.is_empty());
    assert_eq!(cfg.global.scrape_interval, PromDuration::from_secs(60));
    assert_eq!(cfg.global.scrape_timeout, PromDuration::from_secs(10));
}

#[test]
fn locates_jobs_for_semantic_errors() {
    let text = "scrape_configs:\n  - job_name: a\n  - job_name: 'b'  # two\n";
    assert_eq!(locate_job(text, "b", 0), Some((3, 5)));
    assert_eq!(locate_job(text, "c", 0), None);
}

#[test]
fn a_duplicate_job_is_reported_at_its_second_use_not_in_a_comment() {
    let text =
        "scrape_configs:\n  # - job_name: a\n  - job_name: a\n  - {job_name: a, scrape_interval: 5s}\n";
    assert_eq!(locate_job(text, "a", 0), Some((3, 5)));
    let err = Config::from_yaml_with_env(text, "d.yml", |_| None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("d.yml:4:6: found multiple scrape configs with job name \"a\""),
        "{err}"
    );
}

mod env_values {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_unset_reference_is_located_past_literals() {
        let text = "a:\n  b: '$${X} ${X}'\n";
        assert_eq!(super::super::envsubst::locate_reference(text, "X", 2, 6), (2, 13));
        let e = Config::from_yaml_with_env("global:\n  external_labels: {a: '$${X} ${X}'}\n", "f", |_| None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("f:2:31: environment variable X is not set"), "{e}");
    }

    proptest! {
        /// Whatever a variable holds reaches the value unchanged: YAML
        /// syntax inside it is never interpreted.
        #[test]
        fn any_value_is_taken_literally(value in "[ -~\n\t]{0,40}") {
            let v = value.clone();
            let cfg = Config::from_yaml_with_env(
                "global:\n  external_labels:\n    x: ${V}\n    y: \"pre ${V} post\"\n",
                "p.yml",
                move |name| (name == "V").then(|| v.clone()),
            )
            .unwrap();
            prop_assert_eq!(&cfg.global.external_labels["x"], &value);
            prop_assert_eq!(&cfg.global.external_labels["y"], &format!("pre {value} post"));
        }
    }
}
