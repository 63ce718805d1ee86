//! What the log shipper tests share: a server with the listeners on free
//! ports, searching, the self-metrics, and finding the Python clients.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::{BelfryServer, free_port, get_json, http_get};

/// A server with `logs.gelf` and `logs.syslog` on free ports; `extra`
/// is more YAML under `logs:` (indented two spaces).
pub struct ShipperServer {
    pub server: BelfryServer,
    pub gelf_port: u16,
    pub syslog_port: u16,
}

pub fn start(dir: &Path, extra: &str) -> ShipperServer {
    start_on(dir, extra, "", free_port(), free_port())
}

/// `listener_extra` is YAML added to both listeners' sections (indented
/// four spaces).
pub fn start_on(
    dir: &Path,
    extra: &str,
    listener_extra: &str,
    gelf_port: u16,
    syslog_port: u16,
) -> ShipperServer {
    let config = dir.join("belfry.yml");
    std::fs::write(
        &config,
        format!(
            "logs:\n  commit:\n    interval: 500ms\n  gelf:\n    listen: 127.0.0.1:{gelf_port}\n{listener_extra}  syslog:\n    listen: 127.0.0.1:{syslog_port}\n{listener_extra}{extra}"
        ),
    )
    .unwrap();
    let data = dir.join("data");
    ShipperServer {
        server: BelfryServer::start(&data, Some(&config)),
        gelf_port,
        syslog_port,
    }
}

/// `/api/belfry/logs/search` over all time, up to 1000 lines.
pub fn search(server: &BelfryServer, params: &str) -> Value {
    get_json(&server.url(&format!("/api/belfry/logs/search?start=0&limit=1000&{params}")))["data"].clone()
}

/// Waits until the search finds `n` lines, and returns them; on timeout
/// says what it found and what every line of the store looks like.
pub fn wait_lines(server: &BelfryServer, params: &str, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let d = search(server, params);
        let lines = d["lines"].as_array().cloned().unwrap_or_default();
        if lines.len() >= n {
            return lines;
        }
        if std::time::Instant::now() > deadline {
            let all = search(server, "limit=20");
            panic!(
                "timed out waiting for {n} lines for {params}: found {}; the newest lines: {}",
                lines.len(),
                all["lines"]
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The value of one self-metric series (labels as written in the text
/// format, in registry order), 0 when absent.
pub fn metric(server: &BelfryServer, series: &str) -> f64 {
    let (_, text) = http_get(&server.url("/metrics")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// A python3 that imports `modules`, or None after saying why the test
/// skips (a failure under `BELFRY_REQUIRE_PEERS`).
pub fn python_with(modules: &str) -> Option<&'static str> {
    let found = ["python3", "python"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", &format!("import {modules}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        if std::env::var_os("BELFRY_REQUIRE_PEERS").is_some() {
            panic!(
                "BELFRY_REQUIRE_PEERS is set but python3 cannot import {modules} (scripts/install-test-deps)"
            );
        }
        eprintln!("skipping: python3 cannot import {modules} (scripts/install-test-deps installs it)");
    }
    found
}

pub fn run_python(python: &str, script: &str, args: &[String]) -> String {
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A token as privacy writes it: `u_` and 16 hex digits.
pub fn is_token(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 18 && s.starts_with("u_") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
    })
}

pub fn message_of(line: &Value) -> &str {
    line["message"].as_str().unwrap_or_default()
}
