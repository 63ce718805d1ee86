//! The LMS pack's slow-query alert against a real PostgreSQL (a throwaway
//! cluster from Debian's `postgresql`) and Debian's postgres_exporter with
//! `rules/lms/postgres-queries.yml`: a running `pg_sleep` query trips the
//! pack's expression, an idle long transaction does not.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{BelfryServer, ChildGuard, free_port, get_json, peer_binary, wait_for};

/// The newest `/usr/lib/postgresql/<version>/bin` (Debian keeps initdb and
/// pg_ctl there, off the PATH).
fn postgres_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    if std::env::var_os("BELFRY_REQUIRE_PEERS").is_some() {
        panic!("BELFRY_REQUIRE_PEERS is set but postgresql is not installed (scripts/install-test-deps)");
    }
    eprintln!("skipping: postgresql is not installed (scripts/install-test-deps installs it)");
    None
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL cluster in a temporary directory, on a free loopback port,
/// trusting local connections; stopped on drop. PostgreSQL refuses to run
/// as root, so as root it runs as the `postgres` user the package creates.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    port: u16,
}

impl Cluster {
    fn start(bin: &Path, dir: &Path) -> Cluster {
        let as_postgres = running_as_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir)
                .status()
                .unwrap();
            assert!(status.success(), "chown to postgres");
        }
        let cluster = Cluster {
            bin: bin.to_path_buf(),
            data: dir.join("data"),
            as_postgres,
            port: free_port(),
        };
        let out = cluster
            .command("initdb")
            .arg("-D")
            .arg(&cluster.data)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "--no-locale",
                "-E",
                "UTF8",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            cluster.port,
            dir.display()
        );
        let out = cluster
            .command("pg_ctl")
            .arg("-D")
            .arg(&cluster.data)
            .arg("-l")
            .arg(dir.join("postgres.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default()
        );
        cluster
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if !self.as_postgres {
            return Command::new(program);
        }
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    }

    fn url(&self) -> String {
        format!(
            "postgresql://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    /// `psql` running `sql` from its standard input, which stays open until
    /// the guard drops, so a transaction it begins stays open too.
    fn psql(&self, psql: &Path, sql: &str) -> ChildGuard {
        let mut child = Command::new(psql)
            .args([
                "-X",
                "-q",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-p",
            ])
            .arg(self.port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.as_mut().unwrap().write_all(sql.as_bytes()).unwrap();
        ChildGuard(child)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .status();
    }
}

fn query(server: &BelfryServer, q: &str) -> Vec<serde_json::Value> {
    let url = server.url(&format!("/api/v1/query?query={}", encode(q)));
    get_json(&url)["data"]["result"].as_array().unwrap().clone()
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn value(sample: &serde_json::Value) -> f64 {
    sample["value"][1].as_str().unwrap().parse().unwrap()
}

#[test]
fn a_running_query_trips_the_slow_query_expression_and_an_idle_transaction_does_not() {
    let Some(bin) = postgres_bin_dir() else {
        return;
    };
    let Some(exporter) = peer_binary("prometheus-postgres-exporter") else {
        return;
    };
    let Some(psql) = peer_binary("psql") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let pg_dir = tmp.path().join("pg");
    std::fs::create_dir(&pg_dir).unwrap();
    let cluster = Cluster::start(&bin, &pg_dir);

    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/lms/postgres-queries.yml");
    let exporter_port = free_port();
    let _exporter = ChildGuard(
        Command::new(exporter)
            .env("DATA_SOURCE_NAME", cluster.url())
            .arg(format!("--web.listen-address=127.0.0.1:{exporter_port}"))
            .arg(format!("--extend.query-path={}", queries.display()))
            .arg("--log.level=error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let cfg = tmp.path().join("belfry.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: postgres\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n"
        ),
    )
    .unwrap();
    let server = BelfryServer::start(&tmp.path().join("data"), Some(&cfg));

    let pack = belfry::rules::builtin_pack("lms").unwrap();
    let file = belfry::rules::parse_rules(pack, "builtin:lms", Default::default()).unwrap();
    let slow = file
        .groups
        .iter()
        .flat_map(|g| g.rules.iter())
        .find(|r| r.name() == "LMSDBSlowQueries")
        .expect("the pack has LMSDBSlowQueries")
        .expr
        .clone();

    // An idle transaction, old enough that the exporter's transaction age
    // sees it: not a slow query.
    let _idle = cluster.psql(&psql, "BEGIN;\nSELECT 1;\n");
    wait_for(
        Duration::from_secs(30),
        "the idle transaction in pg_stat_activity_max_tx_duration",
        || {
            let r = query(
                &server,
                "pg_stat_activity_max_tx_duration{state=\"idle in transaction\",datname=\"postgres\"} > 2",
            );
            (!r.is_empty()).then_some(())
        },
    );
    let longest = query(&server, "pg_longest_query_seconds{datname=\"postgres\"}");
    assert_eq!(
        longest.len(),
        1,
        "the queries file's metric is scraped: {longest:?}"
    );
    assert!(value(&longest[0]) < 0.1, "{longest:?}");
    assert_eq!(query(&server, &slow), Vec::<serde_json::Value>::new(), "{slow}");

    // A slow query trips it, with the idle transaction still open.
    let _sleeper = cluster.psql(&psql, "SELECT pg_sleep(20);\n");
    let tripped = wait_for(Duration::from_secs(15), "the slow-query expression", || {
        let r = query(&server, &slow);
        (!r.is_empty()).then_some(r)
    });
    assert_eq!(tripped.len(), 1, "{tripped:?}");
    assert_eq!(tripped[0]["metric"]["datname"], "postgres", "{tripped:?}");
    assert_eq!(tripped[0]["metric"]["job"], "postgres", "{tripped:?}");
    assert!(value(&tripped[0]) > 0.1, "{tripped:?}");
    server.stop();
}
