//! `logs.files` through `belfry serve`: lines appended to a file while
//! Belfry tails it arrive once each through a rename rotation, a
//! copytruncate, a clean restart and a `kill -9`; a real `python3`
//! logging a chained exception to a file arrives as one error record;
//! Docker json-file lines split by Docker are joined; user ids are
//! stored as tokens.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{BelfryServer, get_json, http_get, wait_for};

fn search(server: &BelfryServer, params: &str) -> Value {
    get_json(&server.url(&format!("/api/belfry/logs/search?start=0&{params}")))["data"].clone()
}

fn total(server: &BelfryServer, params: &str) -> u64 {
    search(server, &format!("{params}&limit=1"))["total"]
        .as_u64()
        .unwrap()
}

/// Every line of a service, oldest first.
fn all_lines(server: &BelfryServer, service: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let page = search(
            server,
            &format!("service={service}&limit=1000&offset={}", out.len()),
        );
        let lines = page["lines"].as_array().unwrap().clone();
        if lines.is_empty() {
            break;
        }
        out.extend(lines);
    }
    out.reverse();
    out
}

fn wait_total(server: &BelfryServer, params: &str, want: u64) {
    let mut last = 0;
    wait_for(
        Duration::from_secs(60),
        &format!("{want} lines for {params}"),
        || {
            last = total(server, params);
            assert!(
                last <= want,
                "{last} lines for {params}, more than the {want} written"
            );
            (last == want).then_some(())
        },
    );
}

/// An hour ago: each line's own time is this plus its number in ms, so the
/// lines sort in writing order and paging through them is stable.
fn base_secs() -> f64 {
    static BASE: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            .floor()
            - 3600.0
    })
}

fn append(file: &mut File, seqs: std::ops::Range<u64>) {
    for seq in seqs {
        let ts = base_secs() + seq as f64 / 1000.0;
        let line = json!({"ts": ts, "level": "info", "msg": format!("enrolment {seq}"), "seq": seq, "user_id": "student-42"});
        writeln!(file, "{line}").unwrap();
    }
}

fn open_append(path: &Path) -> File {
    OpenOptions::new().create(true).append(true).open(path).unwrap()
}

fn metric(server: &BelfryServer, name: &str) -> f64 {
    let text = http_get(&server.url("/metrics")).unwrap().1;
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .map(|v| v.parse().unwrap())
        .unwrap_or(0.0)
}

fn write_config(dir: &Path, files: &str) -> PathBuf {
    let config = dir.join("belfry.yml");
    std::fs::write(
        &config,
        format!("logs:\n  commit:\n    interval: 200ms\n  files:\n{files}"),
    )
    .unwrap();
    config
}

#[test]
fn tailed_lines_arrive_once_through_rotation_truncation_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("lms");
    std::fs::create_dir(&logs).unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "    - paths: ['{}/*.log']\n      labels: {{service: lms-api}}\n      poll_interval: 10ms\n      rescan_interval: 300ms\n",
            logs.display()
        ),
    );
    let data = dir.path().join("data");
    let app_log = logs.join("app.log");
    let mut writer = open_append(&app_log);
    append(&mut writer, 0..100);
    let server = BelfryServer::start(&data, Some(&config));
    append(&mut writer, 100..200);
    wait_total(&server, "service=lms-api", 200);

    // Rotation by rename: the program writes a few more lines to the
    // renamed file before it opens a new one under the old name.
    std::fs::rename(&app_log, logs.join("app.log.1")).unwrap();
    append(&mut writer, 200..220);
    let mut writer = open_append(&app_log);
    append(&mut writer, 220..400);
    wait_total(&server, "service=lms-api", 400);
    // The renamed file is closed once it has been read to its end for a while.
    wait_for(Duration::from_secs(10), "the renamed file to be closed", || {
        (metric(&server, "belfry_logs_files_rotations_total") == 1.0).then_some(())
    });

    // copytruncate: copied away, then cut to nothing under the writer.
    std::fs::copy(&app_log, logs.join("app.log.2")).unwrap();
    writer.set_len(0).unwrap();
    append(&mut writer, 400..450);
    wait_total(&server, "service=lms-api", 450);
    assert_eq!(metric(&server, "belfry_logs_files_truncations_total"), 1.0);

    // A clean stop with lines not yet read, and lines written while down.
    append(&mut writer, 450..500);
    server.stop();
    append(&mut writer, 500..520);
    let server = BelfryServer::start(&data, Some(&config));
    append(&mut writer, 520..550);
    wait_total(&server, "service=lms-api", 550);

    // kill -9 while a program writes steadily, three times: the tailer
    // polls every 10 ms so that it is mostly busy with a batch, and some
    // kills land between the store's answer and the saved position.
    let next = Arc::new(AtomicU64::new(550));
    let stop = Arc::new(AtomicBool::new(false));
    let steady = {
        let (next, stop, path) = (next.clone(), stop.clone(), app_log.clone());
        std::thread::spawn(move || {
            let mut w = open_append(&path);
            while !stop.load(Ordering::Relaxed) {
                let n = next.load(Ordering::Relaxed);
                append(&mut w, n..n + 5);
                next.store(n + 5, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(7));
            }
        })
    };
    let mut server = server;
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(700));
        server.kill_hard();
        server = BelfryServer::start(&data, Some(&config));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    steady.join().unwrap();
    let written = next.load(Ordering::Relaxed);
    wait_total(&server, "service=lms-api", written);
    // Anything repeated late would show up now.
    std::thread::sleep(Duration::from_secs(1));

    let lines = all_lines(&server, "lms-api");
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for l in &lines {
        *seen.entry(l["fields"]["seq"].as_u64().unwrap()).or_default() += 1;
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "lines stored more than once: {repeated:?}");
    let missing: Vec<u64> = (0..written).filter(|s| !seen.contains_key(s)).collect();
    assert!(missing.is_empty(), "lines lost: {missing:?}");
    assert_eq!(lines.len() as u64, written);

    let first = &lines[0];
    assert_eq!(first["message"], "enrolment 0");
    assert_eq!(first["labels"]["filename"], app_log.display().to_string());
    let user = first["user"].as_str().unwrap();
    assert!(
        user.starts_with("u_") && !user.contains("student"),
        "user id stored as {user}"
    );
    assert!(
        !serde_json::to_string(&lines).unwrap().contains("student-42"),
        "the raw user id is stored somewhere"
    );
    assert!(metric(&server, "belfry_logs_files_watched") >= 1.0);
    server.stop();
}

#[test]
fn a_python_traceback_is_one_error_record_and_docker_lines_are_joined() {
    let dir = tempfile::tempdir().unwrap();
    let py_dir = dir.path().join("py");
    let docker_dir = dir.path().join("containers");
    std::fs::create_dir(&py_dir).unwrap();
    std::fs::create_dir(&docker_dir).unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "    - paths: ['{}/*.log']\n      format: plain\n      multiline: {{flush_after: 500ms}}\n      labels: {{service: lms-grading}}\n      poll_interval: 100ms\n      rescan_interval: 300ms\n\
             \x20   - paths: ['{}/*-json.log']\n      format: docker\n      labels: {{service: lms-web}}\n      poll_interval: 100ms\n      rescan_interval: 300ms\n",
            py_dir.display(),
            docker_dir.display()
        ),
    );
    let server = BelfryServer::start(&dir.path().join("data"), Some(&config));

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/logs/grading_traceback.py"
    );
    let py_log = py_dir.join("grading.log");
    let status = Command::new("python3")
        .arg(script)
        .arg(&py_log)
        .status()
        .expect("python3 runs");
    assert!(status.success());

    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let docker_lines = [
        json!({"log": "{\"level\":\"error\",\"msg\":\"upload failed: part one ", "stream": "stdout", "time": now}),
        json!({"log": "WARN plain stderr text\n", "stream": "stderr", "time": now}),
        json!({"log": "and part two\"}\n", "stream": "stdout", "time": now}),
    ];
    let mut docker = open_append(&docker_dir.join("abc123-json.log"));
    for l in docker_lines {
        writeln!(docker, "{l}").unwrap();
    }

    wait_total(&server, "service=lms-grading", 3);
    let d = search(&server, "service=lms-grading&level=error");
    assert_eq!(d["total"], 1, "{d}");
    let message = d["lines"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(
            "ERROR lms.grading grading failed for course CS101\nTraceback (most recent call last):"
        ),
        "{message}"
    );
    assert!(
        message.contains("ZeroDivisionError: division by zero"),
        "{message}"
    );
    assert!(
        message.ends_with("ValueError: no submissions to grade"),
        "{message}"
    );
    assert_eq!(total(&server, "service=lms-grading&level=warning"), 1);

    wait_total(&server, "service=lms-web", 2);
    let d = search(&server, "service=lms-web&level=error");
    assert_eq!(
        d["lines"][0]["message"], "upload failed: part one and part two",
        "{d}"
    );
    assert_eq!(d["lines"][0]["labels"]["stream"], "stdout");
    let d = search(&server, "service=lms-web&level=warning");
    assert_eq!(d["lines"][0]["message"], "WARN plain stderr text", "{d}");
    server.stop();
}

fn post_reload(server: &BelfryServer) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = crate::support::http_client()
            .post(server.url("/-/reload"))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    })
}

#[test]
fn a_reload_applies_the_file_list_live_and_refuses_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("lms");
    std::fs::create_dir(&logs).unwrap();
    let entry = |service: &str| {
        format!(
            "    - paths: ['{}/*.log']\n      format: logfmt\n      labels: {{service: {service}}}\n      poll_interval: 100ms\n",
            logs.display()
        )
    };
    let config = write_config(dir.path(), &entry("first"));
    let server = BelfryServer::start(&dir.path().join("data"), Some(&config));
    let mut w = open_append(&logs.join("quiz.log"));
    writeln!(w, "level=warn msg=\"quiz autosave slow\" course=CS101").unwrap();
    wait_total(&server, "service=first", 1);

    // A bad glob refuses the reload; the running tailer goes on.
    std::fs::write(&config, "logs:\n  files:\n    - paths: ['relative/*.log']\n").unwrap();
    let (status, body) = post_reload(&server);
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("files[0].paths"), "{body}");
    writeln!(w, "level=info msg=\"still tailed\"").unwrap();
    wait_total(&server, "service=first", 2);

    // New labels: the new tailer resumes where the old one stopped.
    write_config(dir.path(), &entry("second"));
    let (status, body) = post_reload(&server);
    assert_eq!(status, 200, "{body}");
    writeln!(w, "level=error msg=\"after the reload\"").unwrap();
    wait_total(&server, "service=second", 1);
    assert_eq!(total(&server, "service=first"), 2);
    let d = search(&server, "service=first&level=warning");
    assert_eq!(d["lines"][0]["message"], "quiz autosave slow");
    assert_eq!(d["lines"][0]["fields"]["course"], "CS101");
    server.stop();
}
