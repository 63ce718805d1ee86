//! Debian's `prometheus-node-exporter`, scraped end to end by a `belfry`
//! process, and its series read back through the HTTP API.

use std::time::Duration;

use crate::support::{BelfryServer, ChildGuard, free_port, get_json, peer_binary, wait_for};

#[test]
fn node_exporter_is_scraped_and_queryable() {
    let Some(exporter) = peer_binary("prometheus-node-exporter") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _exporter = ChildGuard(
        std::process::Command::new(exporter)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start node exporter"),
    );
    let config = dir.path().join("belfry.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n        labels:\n          env: test\n"
        ),
    )
    .unwrap();
    let server = BelfryServer::start(&dir.path().join("data"), Some(&config));

    // The exporter's CPU counters arrive with the target's labels.
    let series = wait_for(Duration::from_secs(30), "node_cpu_seconds_total series", || {
        let v = get_json(&server.url("/api/v1/series?match[]=node_cpu_seconds_total"));
        let data = v["data"].as_array().cloned().unwrap_or_default();
        (!data.is_empty()).then_some(data)
    });
    let first = &series[0];
    assert_eq!(first["job"], "node");
    assert_eq!(first["instance"], format!("127.0.0.1:{port}"));
    assert_eq!(first["env"], "test");
    assert!(first["cpu"].is_string() && first["mode"].is_string(), "{first}");

    // The scrape's report series exist, and the target is healthy.
    for name in [
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    ] {
        let v = get_json(&server.url(&format!("/api/v1/series?match[]={name}{{job=\"node\"}}")));
        assert_eq!(v["data"].as_array().map(|a| a.len()), Some(1), "{name}: {v}");
    }
    let targets = get_json(&server.url("/api/v1/targets"));
    let active = targets["data"]["activeTargets"].as_array().unwrap();
    let node = active
        .iter()
        .find(|t| t["labels"]["job"] == "node")
        .expect("node target listed");
    assert_eq!(node["health"], "up", "{node}");
    assert_eq!(node["scrapeUrl"], format!("http://127.0.0.1:{port}/metrics"));

    // Names, label values and metadata come from what was scraped.
    let names = get_json(&server.url("/api/v1/label/__name__/values"));
    let names: Vec<&str> = names["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(names.contains(&"node_cpu_seconds_total") && names.contains(&"node_memory_MemTotal_bytes"));
    let meta = get_json(&server.url("/api/v1/metadata?metric=node_cpu_seconds_total"));
    assert_eq!(
        meta["data"]["node_cpu_seconds_total"][0]["type"], "counter",
        "{meta}"
    );

    // The latest value of up is 1, seen through /federate.
    let (_, fed) = crate::support::http_get(&server.url("/federate?match[]=up{job=\"node\"}")).unwrap();
    assert!(
        fed.lines().any(|l| l.starts_with("up{") && l.contains(" 1 ")),
        "{fed}"
    );
}
