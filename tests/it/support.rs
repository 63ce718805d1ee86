//! Helpers shared by the integration tests: the conformance corpus, real
//! peer binaries, a `belfry` server process per test, and reading back what
//! a `Storage` holds.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use belfry::model::{Labels, Matcher};
use belfry::tsdb::Storage;

pub mod slapd;

/// The conformance corpus beside the checkout (`../shared/conformance`).
///
/// A user's clone has no `../shared`, so tests that need it skip with a
/// message; CI sets `BELFRY_REQUIRE_SHARED=1`, which turns the skip into a
/// failure so a missing corpus can never pass silently there.
pub fn shared_conformance_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("BELFRY_REQUIRE_SHARED").is_some() {
        panic!("BELFRY_REQUIRE_SHARED is set but {} is missing", dir.display());
    }
    eprintln!(
        "skipping: {} is absent (it sits beside the checkout in CI)",
        dir.display()
    );
    None
}

/// A real peer program from Debian's packages (e.g. `prometheus`,
/// `prometheus-node-exporter`). Absent → skip with a message, unless
/// `BELFRY_REQUIRE_PEERS=1` (CI), where it is a failure.
pub fn peer_binary(name: &str) -> Option<PathBuf> {
    // Daemons (rsyslogd) live in the sbin directories.
    for dir in ["/usr/bin", "/usr/local/bin", "/bin", "/usr/sbin", "/sbin"] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    if std::env::var_os("BELFRY_REQUIRE_PEERS").is_some() {
        panic!("BELFRY_REQUIRE_PEERS is set but {name} is not installed (scripts/install-test-deps)");
    }
    eprintln!("skipping: {name} is not installed (scripts/install-test-deps installs it)");
    None
}

/// A free loopback port. Another process could take it before we bind it;
/// on loopback in a test run that race is rare enough.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process that is killed when the test ends, however it ends.
pub struct ChildGuard(pub Child);

impl ChildGuard {
    /// SIGTERM, then wait for the exit: the child's shutdown code runs.
    pub fn terminate(&mut self, timeout: Duration) {
        let pid = self.0.id();
        let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("process {pid} did not stop within {timeout:?} of SIGTERM");
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `belfry serve` process on a free port with its own data dir.
pub struct BelfryServer {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    child: Option<ChildGuard>,
    /// Set when the server serves HTTPS (`server.tls`): the CA its
    /// certificate is trusted through.
    ca_file: Option<PathBuf>,
}

impl BelfryServer {
    /// Starts `belfry serve` and waits until `/-/ready` answers 200.
    pub fn start(data_dir: &Path, config: Option<&Path>) -> BelfryServer {
        BelfryServer::start_with_env(data_dir, config, &[])
    }

    /// As [`BelfryServer::start`], with variables set in the server's
    /// environment (what `${VAR}` in its configuration reads).
    pub fn start_with_env(data_dir: &Path, config: Option<&Path>, env: &[(&str, &str)]) -> BelfryServer {
        BelfryServer::spawn(data_dir, config, env, None, None)
    }

    /// As [`BelfryServer::start_with_env`], with the server's log written
    /// to `log` instead of the test's stderr (for tests that read it).
    pub fn start_with(
        data_dir: &Path,
        config: Option<&Path>,
        env: &[(&str, &str)],
        log: Option<&Path>,
    ) -> BelfryServer {
        BelfryServer::spawn(data_dir, config, env, None, log)
    }

    /// As [`BelfryServer::start`] for a configuration with `server.tls`:
    /// URLs are `https://` and requests trust `ca_file` only.
    pub fn start_https(data_dir: &Path, config: &Path, ca_file: &Path) -> BelfryServer {
        BelfryServer::spawn(data_dir, Some(config), &[], Some(ca_file.to_path_buf()), None)
    }

    fn spawn(
        data_dir: &Path,
        config: Option<&Path>,
        env: &[(&str, &str)],
        ca_file: Option<PathBuf>,
        log: Option<&Path>,
    ) -> BelfryServer {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        BelfryServer::spawn_at(addr, data_dir, config, env, ca_file, log, &[])
    }

    /// `belfry serve --demo` on `addr`, with the configuration merged into
    /// the demo's, `env` (the hidden `BELFRY_DEMO_INCIDENT_EVERY`, for
    /// one) and the log in `log`.
    pub fn start_demo(
        addr: SocketAddr,
        data_dir: &Path,
        config: Option<&Path>,
        env: &[(&str, &str)],
        log: Option<&Path>,
    ) -> BelfryServer {
        BelfryServer::spawn_at(addr, data_dir, config, env, None, log, &["--demo"])
    }

    /// As [`BelfryServer::start_with`], listening on `addr` (for a test
    /// whose configuration or peers must know the address first).
    pub fn start_at(
        addr: SocketAddr,
        data_dir: &Path,
        config: Option<&Path>,
        env: &[(&str, &str)],
        log: Option<&Path>,
    ) -> BelfryServer {
        BelfryServer::spawn_at(addr, data_dir, config, env, None, log, &[])
    }

    fn spawn_at(
        addr: SocketAddr,
        data_dir: &Path,
        config: Option<&Path>,
        env: &[(&str, &str)],
        ca_file: Option<PathBuf>,
        log: Option<&Path>,
        serve_flags: &[&str],
    ) -> BelfryServer {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_belfry"));
        cmd.arg("serve")
            .args(serve_flags)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(addr.to_string());
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        cmd.envs(env.iter().copied());
        cmd.env_remove("BELFRY_CONFIG")
            .env("BELFRY_LOG", "info")
            .stdout(Stdio::null())
            .stderr(match log {
                Some(path) => Stdio::from(std::fs::File::create(path).expect("create the server's log")),
                None => Stdio::inherit(),
            });
        let child = ChildGuard(cmd.spawn().expect("spawn belfry"));
        let server = BelfryServer {
            addr,
            data_dir: data_dir.to_path_buf(),
            child: Some(child),
            ca_file,
        };
        // The demo writes a day of history before it is ready.
        let ready_within = if serve_flags.contains(&"--demo") { 240 } else { 60 };
        server.wait_ready(Duration::from_secs(ready_within));
        server
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.ca_file.is_some() { "https" } else { "http" };
        format!("{scheme}://{}{}", self.addr, path)
    }

    /// A client for this server's URLs: over HTTPS it trusts the server's
    /// CA and nothing else, and keeps the peer's certificate
    /// (`reqwest::tls::TlsInfo` in a response's extensions).
    pub fn client(&self) -> reqwest::Client {
        let Some(ca) = &self.ca_file else {
            return http_client();
        };
        belfry::install_crypto_provider();
        let pem = std::fs::read(ca).unwrap();
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
            .tls_info(true)
            .build()
            .unwrap()
    }

    fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            // A client per attempt: each GET runs on a runtime of its own.
            if matches!(get_with(&self.client(), &self.url("/-/ready")), Ok((200, _))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("belfry on {} did not become ready within {timeout:?}", self.addr);
    }

    /// `kill -9`: no shutdown code runs, as in a crash or OOM kill.
    pub fn kill_hard(mut self) {
        if let Some(mut c) = self.child.take() {
            c.0.kill().unwrap();
            c.0.wait().unwrap();
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) {
        if let Some(mut c) = self.child.take() {
            c.terminate(Duration::from_secs(30));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.0.id()).unwrap_or(0)
    }
}

/// An HTTP client for tests. reqwest is built without a TLS crypto
/// provider of its own, so the process-wide one is installed first.
pub fn http_client() -> reqwest::Client {
    belfry::install_crypto_provider();
    reqwest::Client::new()
}

/// A blocking GET: (status, body).
pub fn http_get(url: &str) -> Result<(u16, String), String> {
    get_with(&http_client(), url)
}

/// A blocking GET through `client`: (status, body).
pub fn get_with(client: &reqwest::Client, url: &str) -> Result<(u16, String), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = client
            .get(url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let body = resp.text().await.map_err(|e| e.to_string())?;
        Ok((status, body))
    })
}

/// A page as the server renders it for a browser (`Accept: text/html`),
/// fetched through `client` (one with a token, or `http_client()`).
pub fn html_page(client: &reqwest::Client, url: &str) -> String {
    block(async {
        client
            .get(url)
            .header("Accept", "text/html")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
            .text()
            .await
            .unwrap()
    })
}

/// A blocking GET that must succeed with 200, parsed as JSON.
pub fn get_json(url: &str) -> serde_json::Value {
    let (status, body) = http_get(url).unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(status, 200, "GET {url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {body}"))
}

/// Polls `f` until it returns Some or the timeout passes.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One PromQL instant query's single value through `/api/v1/query`, if
/// it has exactly one.
pub fn query_value(server: &BelfryServer, expr: &str) -> Option<f64> {
    let encoded: String = form_urlencoded::byte_serialize(expr.as_bytes()).collect();
    let (_, text) = http_get(&server.url(&format!("/api/v1/query?query={encoded}"))).ok()?;
    let body: serde_json::Value = serde_json::from_str(&text).ok()?;
    let result = body["data"]["result"].as_array()?;
    let [one] = result.as_slice() else { return None };
    one["value"][1].as_str()?.parse().ok()
}

/// Polls the PromQL query until its value is `want` (the errors
/// subsystem appends its counters to the TSDB every 10 s).
pub fn wait_value(server: &BelfryServer, expr: &str, want: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let last = query_value(server, expr);
        if last == Some(want) {
            return;
        }
        assert!(Instant::now() < deadline, "{expr}: wanted {want}, last {last:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The issue whose title starts with `title_prefix`, from an issues list.
pub fn issue<'a>(issues: &'a [serde_json::Value], title_prefix: &str) -> &'a serde_json::Value {
    issues
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with(title_prefix))
        .unwrap_or_else(|| panic!("no issue titled {title_prefix}…: {issues:#?}"))
}

/// The release `version` from `/api/belfry/errors/releases`' answer.
pub fn release<'a>(list: &'a serde_json::Value, version: &str) -> &'a serde_json::Value {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["version"] == version)
        .unwrap_or_else(|| panic!("no release {version}: {list:#}"))
}

/// The first alert named `name` in state `status` that a webhook sink
/// (`log_rules::start_webhook`) got, waiting for it.
pub fn alert_at_hook(bodies: &Arc<Mutex<Vec<String>>>, name: &str, status: &str) -> serde_json::Value {
    wait_for(
        Duration::from_secs(20),
        &format!("{name} {status} at the webhook"),
        || {
            let bodies = bodies.lock().unwrap();
            bodies.iter().find_map(|b| {
                let v: serde_json::Value = serde_json::from_str(b).ok()?;
                v["alerts"]
                    .as_array()?
                    .iter()
                    .find(|a| a["labels"]["alertname"] == name && a["status"] == status)
                    .cloned()
            })
        },
    )
}

/// A server in `dir` with errors project 1 (`key`), cron monitors checked
/// every 200 ms with a 2 s minute, and every alert routed to the webhook
/// at `hook_url`; `errors_extra` is one more line of the `errors` section.
pub fn start_errors_server(dir: &Path, key: &str, errors_extra: &str, hook_url: &str) -> BelfryServer {
    let config = dir.join("belfry.yml");
    std::fs::write(
        &config,
        format!(
            r#"
errors:
  projects: [{{id: 1, name: lms, keys: [{key}]}}]
  {errors_extra}
  monitors: {{check_interval: 200ms, minute: 2s}}
alerting:
  route:
    receiver: hook
    group_by: [alertname, issue, monitor]
    group_wait: 100ms
    group_interval: 500ms
    repeat_interval: 1h
  receivers:
    - name: hook
      webhook_configs:
        - url: '{hook_url}'
          send_resolved: true
"#
        ),
    )
    .unwrap();
    BelfryServer::start(&dir.join("data"), Some(&config))
}

/// Checks the `grade-sync` monitor of project 1 went missed, ok, error,
/// ok (its check-ins are listed newest first) and its first run was ok.
pub fn assert_grade_sync_recovered(server: &BelfryServer) {
    let checkins =
        get_json(&server.url("/api/belfry/errors/monitors/grade-sync/checkins?project=1"))["data"].clone();
    let statuses: Vec<&str> = checkins
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    // A later missed one may lead on a slow machine.
    let at = statuses.iter().position(|s| *s == "ok").unwrap();
    assert_eq!(
        &statuses[at..at + 4],
        ["ok", "error", "ok", "missed"],
        "{checkins}"
    );
    assert_eq!(statuses.last(), Some(&"ok"), "{checkins}");
}

/// Every series named `metric` with all its samples, sorted by labels.
pub fn read_all(storage: &dyn Storage, metric: &str) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let querier = storage.querier();
    let mut out = Vec::new();
    for mut s in querier
        .select(&[Matcher::equal("__name__", metric)], i64::MIN, i64::MAX)
        .unwrap()
    {
        let mut samples = Vec::new();
        while let Some(p) = s.samples.next() {
            samples.push(p);
        }
        out.push((s.labels, samples));
    }
    out
}

/// Runs one future to completion on a runtime of its own: for tests that
/// are plain threads around a server started by blocking helpers.
pub fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Every file below `dir` holding any of `needles` (as bytes), named with
/// the needle found: the privacy tests' proof that nothing raw reached the
/// data directory.
pub fn grep_dir(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap_or_default();
            for n in needles {
                if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                    found.push(format!("{n} in {}", path.display()));
                }
            }
        }
    }
    found
}

/// Opens the accounts of a data directory no server holds, runs `f` on
/// them, and returns once the state file is free again (the accounts'
/// writer thread lets go of it just after they are dropped), so a server
/// started next can open it.
pub fn with_accounts<T>(data_dir: &Path, f: impl FnOnce(&belfry::auth::Accounts) -> T) -> T {
    let store = belfry::state::StateStore::open(data_dir).unwrap();
    let accounts = belfry::auth::Accounts::open(
        store,
        &belfry::config::AuthConfig::default(),
        &belfry::selfmetrics::Registry::new(),
    )
    .unwrap();
    let out = f(&accounts);
    accounts.flush().unwrap();
    drop(accounts);
    let deadline = Instant::now() + Duration::from_secs(10);
    while belfry::state::StateStore::open(data_dir).is_err() {
        assert!(Instant::now() < deadline, "the state store stayed open");
        std::thread::sleep(Duration::from_millis(10));
    }
    out
}
