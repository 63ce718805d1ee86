//! `belfry` configured through its environment (`BELFRY_CONFIG`,
//! `BELFRY_DATA_DIR`, `BELFRY_LISTEN`), flags winning over them, the
//! liveness endpoint, and the embedded default config scraping Belfry's own
//! `/metrics`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use belfry::config::Config;
use belfry::scrape::discovery::static_groups;
use belfry::scrape::target::{Populated, populate};

use crate::support::{ChildGuard, free_port, get_json, http_get, wait_for};

/// `belfry` with no BELFRY_* variables inherited from the test's own
/// environment, and no arguments yet.
fn belfry() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_belfry"));
    cmd.env_remove("BELFRY_CONFIG")
        .env_remove("BELFRY_LISTEN")
        .env_remove("BELFRY_DATA_DIR")
        .env("BELFRY_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    cmd
}

fn loopback() -> SocketAddr {
    format!("127.0.0.1:{}", free_port()).parse().unwrap()
}

fn wait_ready(addr: SocketAddr) {
    wait_for(
        Duration::from_secs(60),
        &format!("belfry ready on {addr}"),
        || matches!(http_get(&format!("http://{addr}/-/ready")), Ok((200, _))).then_some(()),
    );
}

fn job_names(addr: SocketAddr) -> Vec<String> {
    let v = get_json(&format!("http://{addr}/api/v1/targets"));
    let mut jobs: Vec<String> = v["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["scrapePool"].as_str().unwrap().to_string())
        .collect();
    jobs.sort();
    jobs
}

fn write_config(path: &Path, job: &str) {
    std::fs::write(
        path,
        format!("scrape_configs:\n  - job_name: {job}\n    static_configs: [{{targets: ['127.0.0.1:1']}}]\n"),
    )
    .unwrap();
}

#[test]
fn environment_chooses_config_data_dir_and_listen_address() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("from-env.yml");
    write_config(&config, "from_env");
    let data = dir.path().join("env-data");
    let addr = loopback();
    // No subcommand and no flags: everything comes from the environment.
    let child = ChildGuard(
        belfry()
            .env("BELFRY_CONFIG", &config)
            .env("BELFRY_DATA_DIR", &data)
            .env("BELFRY_LISTEN", addr.to_string())
            .spawn()
            .unwrap(),
    );
    wait_ready(addr);
    let (status, body) = http_get(&format!("http://{addr}/-/healthy")).unwrap();
    assert_eq!((status, body.as_str()), (200, "Belfry is Healthy.\n"));
    assert_eq!(job_names(addr), ["from_env"]);
    let metrics_dir = data.join("metrics");
    assert!(
        std::fs::read_dir(&metrics_dir).is_ok_and(|mut d| d.next().is_some()),
        "the store lives in BELFRY_DATA_DIR: {} is empty or missing",
        metrics_dir.display()
    );
    drop(child);

    // Flags win over the environment, as for every clap `env` argument.
    let flag_config = dir.path().join("from-flag.yml");
    write_config(&flag_config, "from_flag");
    let flag_data = dir.path().join("flag-data");
    let (env_addr, flag_addr) = (loopback(), loopback());
    let _child = ChildGuard(
        belfry()
            .env("BELFRY_CONFIG", &config)
            .env("BELFRY_DATA_DIR", &data)
            .env("BELFRY_LISTEN", env_addr.to_string())
            .arg("serve")
            .arg("--config")
            .arg(&flag_config)
            .arg("--data-dir")
            .arg(&flag_data)
            .arg("--listen")
            .arg(flag_addr.to_string())
            .spawn()
            .unwrap(),
    );
    wait_ready(flag_addr);
    assert_eq!(job_names(flag_addr), ["from_flag"]);
    assert!(flag_data.join("metrics").is_dir());
    assert!(
        http_get(&format!("http://{env_addr}/-/healthy")).is_err(),
        "nothing listens on BELFRY_LISTEN when --listen is given"
    );
}

/// How long after `now` the self-scrape target of a server listening on
/// `addr` first scrapes: its slot in the interval is fixed by its labels and
/// URL, so the test can choose a port whose slot comes soon.
fn first_self_scrape_delay(addr: SocketAddr, now: SystemTime) -> Duration {
    let config = Config::embedded_default().with_self_target(addr);
    let job = config
        .scrape_configs
        .iter()
        .find(|j| j.job_name == "belfry")
        .expect("the embedded default has the belfry job");
    let group = &static_groups(job)[0];
    let Ok(Populated::Active(target)) = populate(group, &group.targets[0], job) else {
        panic!("the self target is dropped");
    };
    let interval = target.interval.as_nanos();
    let offset = u128::from(target.offset_seed()) % interval;
    let phase = now.duration_since(UNIX_EPOCH).unwrap().as_nanos() % interval;
    Duration::from_nanos(((offset + interval - phase) % interval) as u64)
}

/// With no config at all, Belfry scrapes its own `/metrics` (job `belfry`,
/// at the address it listens on) and `up` becomes 1. The default interval
/// stays 15 s; the port is picked so that the first slot is a few seconds
/// away (were it missed, the next one is at most one interval later).
#[test]
fn embedded_default_config_scrapes_belfry_itself() {
    let dir = tempfile::tempdir().unwrap();
    let soon = Duration::from_secs(2)..Duration::from_secs(5);
    let addr = (0..200)
        .map(|_| loopback())
        .find(|a| soon.contains(&first_self_scrape_delay(*a, SystemTime::now())))
        .unwrap_or_else(loopback);
    let _child = ChildGuard(
        belfry()
            .arg("serve")
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--listen")
            .arg(addr.to_string())
            .spawn()
            .unwrap(),
    );
    wait_ready(addr);
    let targets = get_json(&format!("http://{addr}/api/v1/targets"));
    let target = &targets["data"]["activeTargets"][0];
    assert_eq!(target["scrapePool"], "belfry", "{targets}");
    assert_eq!(target["scrapeUrl"], format!("http://{addr}/metrics"), "{targets}");
    assert_eq!(target["scrapeInterval"], "15s", "{targets}");

    let up = wait_for(Duration::from_secs(25), "up{job=\"belfry\"}", || {
        let v = get_json(&format!("http://{addr}/api/v1/query?query=up{{job=\"belfry\"}}"));
        let value = v["data"]["result"][0]["value"][1].as_str()?.to_string();
        Some((value, v["data"]["result"][0]["metric"].clone()))
    });
    assert_eq!(up.0, "1", "{}", up.1);
    assert_eq!(up.1["instance"], addr.to_string());
    // What it scraped is Belfry's own self-metrics.
    let v = get_json(&format!(
        "http://{addr}/api/v1/query?query=belfry_scrapes_total{{job=\"belfry\"}}"
    ));
    assert_eq!(v["data"]["result"].as_array().unwrap().len(), 1, "{v}");
}
