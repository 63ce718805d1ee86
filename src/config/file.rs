//! The configuration file as a whole: its top-level sections, loading
//! with `${VAR}` expansion, defaults, validation and located errors.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use serde::{Deserialize, Deserializer};

use super::*;
use crate::model::is_legacy_label_name;

/// The whole configuration, validated, with defaults applied.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default, deserialize_with = "null_as_default")]
    pub global: GlobalConfig,
    #[serde(default, deserialize_with = "null_as_default")]
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Globs of Prometheus rule files, or `builtin:NAME` for a rule pack
    /// compiled into the binary (the names are the rules module's).
    #[serde(default, deserialize_with = "null_as_default")]
    pub rule_files: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub storage: StorageConfig,
    #[serde(default, deserialize_with = "null_as_default")]
    pub server: ServerConfig,
    /// The logs store (`<data-dir>/logs/`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub logs: LogsConfig,
    /// Sentry-compatible error ingest: projects, limits, scrubbing.
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: ErrorsConfig,
    /// Users, tokens and the login lockout (`crate::auth`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub auth: AuthConfig,
    /// Alertmanager's `alertmanager.yml` format.
    #[serde(default)]
    pub alerting: Option<crate::config::AlertingConfig>,
    /// Alert flood mode: what it silences, where critical alerts also go,
    /// the raised thresholds it may turn on.
    #[serde(default)]
    pub alerting_flood: Option<AlertFloodConfig>,
    /// Unusual login patterns in the logs' login events (`crate::logins`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub logins: LoginsConfig,
    /// The SEV-3 reports: schedules, receivers, capacity limits.
    #[serde(default, deserialize_with = "null_as_default")]
    pub reports: ReportsConfig,
    /// Where stored samples are sent on (Prometheus's `remote_write`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub remote_write: Vec<RemoteWriteConfig>,
}

const EMBEDDED_DEFAULT: &str = include_str!("default.yaml");
/// The job of the embedded default that scrapes Belfry itself.
pub const SELF_JOB: &str = "belfry";
/// A `rule_files` entry starting with this names a built-in rule pack
/// instead of a glob, so it is neither a pattern nor a relative path.
pub const BUILTIN_RULES_PREFIX: &str = "builtin:";

impl Config {
    /// Reads, expands and validates a file; relative paths inside it
    /// (credential files, TLS files, file_sd globs, rule files) are taken
    /// relative to the file's directory, and `server.tls`'s certificate
    /// and key are read and checked.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
            kind: FileKind::Config,
            path: path.display().to_string(),
            source,
        })?;
        let origin = path.display().to_string();
        let mut cfg = Config::from_yaml(&text, &origin)?;
        if let Some(dir) = path.parent() {
            cfg.resolve_paths(dir);
        }
        // The listener's certificate is checked here, with its paths
        // resolved, so a bad pair refuses the start or the reload rather
        // than the first handshake.
        if let Some(tls) = &cfg.server.tls {
            tls.load().map_err(|e| {
                FileError::located(&origin, locate_key(&text, "server"), format!("server.tls: {e}"))
            })?;
        }
        Ok(cfg)
    }

    /// Parses YAML text, expanding `${VAR}` from the process environment.
    /// `origin` names the text in errors (usually the file path).
    pub fn from_yaml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        Config::from_yaml_with_env(text, origin, |name| std::env::var(name).ok())
    }

    /// As [`Config::from_yaml`], with variables looked up by `env`.
    pub fn from_yaml_with_env(
        text: &str,
        origin: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut cfg = if is_blank_yaml(text) {
            Config::default()
        } else {
            let expander = envsubst::Expander::new(&env);
            let de = envsubst::Expand::new(serde_norway::Deserializer::from_str(text), &expander);
            Config::deserialize(de).map_err(|e| match (expander.unset_variable(), e.location()) {
                (Some(name), Some(at)) if e.to_string().contains("is not set") => {
                    let (line, column) = envsubst::locate_reference(text, &name, at.line(), at.column());
                    ConfigError::UnsetVariable {
                        origin: origin.to_string(),
                        line,
                        column,
                        name,
                    }
                }
                _ => yaml_error(origin, &e).into(),
            })?
        };
        cfg.resolve(text, origin)?;
        Ok(cfg)
    }

    /// The configuration used when none is given: Belfry scrapes itself.
    pub fn embedded_default() -> Config {
        Config::from_yaml_with_env(EMBEDDED_DEFAULT, "<embedded default>", |_| None)
            .expect("the embedded default config is valid (checked by a unit test)")
    }

    /// Points the self-scrape job at the address the server really listens
    /// on (an unspecified address like `0.0.0.0` is reached via loopback).
    pub fn with_self_target(mut self, listen: SocketAddr) -> Config {
        let reach = match listen.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), listen.port())
            }
            IpAddr::V6(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), listen.port())
            }
            _ => listen,
        };
        let default_targets = [DEFAULT_LISTEN, "localhost:9900"];
        for job in self.scrape_configs.iter_mut().filter(|j| j.job_name == SELF_JOB) {
            for group in &mut job.static_configs {
                for t in &mut group.targets {
                    if default_targets.contains(&t.as_str()) {
                        *t = reach.to_string();
                    }
                }
            }
        }
        self
    }

    /// Gives jobs that scrape this server itself, and bring no credentials
    /// of their own, `secret` as their bearer token: once accounts exist,
    /// `/metrics` needs a read credential like every route, and the
    /// self-scrape must not go `down` for want of one. Only jobs whose
    /// every target is this server (a loopback name or the listen address,
    /// at its port) get it, so the secret never goes to another host.
    pub fn with_self_scrape_credentials(mut self, listen: SocketAddr, secret: &str) -> Config {
        let is_self = |target: &str| {
            let Some((host, port)) = target.rsplit_once(':') else {
                return false;
            };
            if port.parse::<u16>().ok() != Some(listen.port()) {
                return false;
            }
            let host = host.trim_start_matches('[').trim_end_matches(']');
            host.eq_ignore_ascii_case("localhost")
                || host
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback() || ip == listen.ip())
        };
        for job in &mut self.scrape_configs {
            let has_own = job.basic_auth.is_some()
                || job.authorization.is_some()
                || !job.bearer_token.is_empty()
                || job.bearer_token_file.is_some();
            let targets: Vec<&String> = job.static_configs.iter().flat_map(|g| &g.targets).collect();
            let only_self =
                !targets.is_empty() && targets.iter().all(|t| is_self(t)) && job.file_sd_configs.is_empty();
            if has_own || !only_self {
                continue;
            }
            job.authorization = Some(Authorization {
                kind: "Bearer".to_string(),
                credentials: Secret::new(secret),
                credentials_file: None,
            });
        }
        self
    }

    /// The job named `name`.
    pub fn scrape_config(&self, name: &str) -> Option<&ScrapeConfig> {
        self.scrape_configs.iter().find(|j| j.job_name == name)
    }

    fn resolve(&mut self, text: &str, origin: &str) -> Result<(), ConfigError> {
        let invalid = |message: String| FileError::Invalid {
            origin: origin.to_string(),
            message,
        };
        self.resolve_global()
            .map_err(|m| FileError::located(origin, locate_key(text, "global"), format!("global: {m}")))?;
        let mut seen = HashSet::new();
        for job in &mut self.scrape_configs {
            let name = job.job_name.clone();
            let located = |message: String| FileError::located(origin, locate_job(text, &name, 0), message);
            if !seen.insert(name.clone()) {
                // Reported where the name is used the second time.
                return Err(FileError::located(
                    origin,
                    locate_job(text, &name, 1),
                    format!("found multiple scrape configs with job name {name:?}"),
                )
                .into());
            }
            job.resolve(&self.global)
                .map_err(|m| located(format!("scrape config for job {name:?}: {m}")))?;
        }
        self.server
            .validate()
            .map_err(|m| FileError::located(origin, locate_key(text, "server"), format!("server: {m}")))?;
        self.logs
            .validate()
            .map_err(|m| FileError::located(origin, locate_key(text, "logs"), format!("logs: {m}")))?;
        self.errors
            .validate()
            .map_err(|m| FileError::located(origin, locate_key(text, "errors"), format!("errors: {m}")))?;
        self.auth
            .validate()
            .map_err(|m| FileError::located(origin, locate_key(text, "auth"), format!("auth: {m}")))?;
        self.logins
            .validate()
            .map_err(|m| FileError::located(origin, locate_key(text, "logins"), format!("logins: {m}")))?;
        if let Some(a) = &mut self.alerting {
            a.resolve(text, origin)?;
        }
        if let Some(f) = &self.alerting_flood {
            let receivers: Vec<&str> = self
                .alerting
                .iter()
                .flat_map(|a| a.receivers.iter().map(|r| r.name.as_str()))
                .collect();
            f.validate(&receivers).map_err(|m| {
                FileError::located(
                    origin,
                    locate_key(text, "alerting_flood"),
                    format!("alerting_flood: {m}"),
                )
            })?;
        }
        {
            let receivers: Vec<&str> = self
                .alerting
                .iter()
                .flat_map(|a| a.receivers.iter().map(|r| r.name.as_str()))
                .collect();
            self.reports.validate(&receivers).map_err(|m| {
                FileError::located(origin, locate_key(text, "reports"), format!("reports.{m}"))
            })?;
        }
        remote_write::resolve_all(&mut self.remote_write).map_err(|(i, e)| {
            FileError::located(
                origin,
                locate_key(text, "remote_write"),
                format!("remote_write[{i}]: {e}"),
            )
        })?;
        for pattern in &self.rule_files {
            if let Some(name) = pattern.strip_prefix(BUILTIN_RULES_PREFIX) {
                if name.is_empty() {
                    return Err(invalid(format!(
                        "rule_files: {pattern:?} names no built-in rule pack (write {BUILTIN_RULES_PREFIX}NAME)"
                    ))
                    .into());
                }
                continue;
            }
            glob::Pattern::new(pattern)
                .map_err(|e| invalid(format!("rule_files: invalid file pattern {pattern:?}: {e}")))?;
        }
        Ok(())
    }

    fn resolve_global(&mut self) -> Result<(), ValidationError> {
        let g = &mut self.global;
        if g.scrape_interval.is_zero() {
            g.scrape_interval = scrape::DEFAULT_SCRAPE_INTERVAL;
        }
        if g.scrape_timeout.is_zero() {
            g.scrape_timeout = scrape::DEFAULT_SCRAPE_TIMEOUT.min(g.scrape_interval);
        }
        if g.scrape_timeout > g.scrape_interval {
            return Err(ValidationError::TimeoutOverInterval {
                timeout: g.scrape_timeout,
                interval: g.scrape_interval,
            });
        }
        if g.evaluation_interval.is_zero() {
            g.evaluation_interval = scrape::DEFAULT_EVALUATION_INTERVAL;
        }
        if let Some(bad) = g.external_labels.keys().find(|n| !is_legacy_label_name(n)) {
            return Err(ValidationError::ExternalLabelName(bad.clone()));
        }
        if let Some(p) = &g.scrape_protocols {
            scrape::validate_protocols(p)?;
        }
        Ok(())
    }

    fn resolve_paths(&mut self, dir: &Path) {
        for job in &mut self.scrape_configs {
            if let Some(b) = &mut job.basic_auth {
                http::resolve(dir, &mut b.password_file);
            }
            if let Some(a) = &mut job.authorization {
                http::resolve(dir, &mut a.credentials_file);
            }
            let tls = &mut job.tls_config;
            http::resolve(dir, &mut tls.ca_file);
            http::resolve(dir, &mut tls.cert_file);
            http::resolve(dir, &mut tls.key_file);
            for sd in &mut job.file_sd_configs {
                for f in &mut sd.files {
                    *f = join_relative(dir, f);
                }
            }
        }
        for f in self
            .rule_files
            .iter_mut()
            .filter(|f| !f.starts_with(BUILTIN_RULES_PREFIX))
        {
            *f = join_relative(dir, f);
        }
        if let Some(tls) = &mut self.server.tls {
            tls.resolve_paths(dir);
        }
        if let Some(a) = &mut self.alerting {
            a.resolve_paths(dir);
        }
        for rw in &mut self.remote_write {
            rw.resolve_paths(dir);
        }
        if let Some(ldap) = &mut self.auth.ldap {
            ldap.resolve_paths(dir);
        }
        self.logins.resolve_paths(dir);
    }

    /// External labels as (name, value) pairs, for rules and federation.
    pub fn external_labels(&self) -> &BTreeMap<String, String> {
        &self.global.external_labels
    }
}

pub(crate) fn join_relative(dir: &Path, p: &str) -> String {
    if Path::new(p).is_relative() && !dir.as_os_str().is_empty() {
        dir.join(p).display().to_string()
    } else {
        p.to_string()
    }
}

/// Missing or `null` means the default (an empty list, a default section).
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// True for text with nothing but comments and whitespace.
pub(crate) fn is_blank_yaml(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---"
    })
}

pub(crate) fn yaml_error(origin: &str, e: &serde_norway::Error) -> FileError {
    let full = e.to_string();
    let Some(loc) = e.location() else {
        return FileError::Invalid {
            origin: origin.to_string(),
            message: full,
        };
    };
    // The library appends " at line L column C"; we put the place in front.
    let suffix = format!(" at line {} column {}", loc.line(), loc.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    FileError::At {
        origin: origin.to_string(),
        line: loc.line(),
        column: loc.column(),
        message,
    }
}

/// Line and column of the `occurrence`-th (0-based) `job_name:` key naming
/// job `job`, skipping comments (a best effort for errors found after
/// deserialising, which carry no position).
pub(super) fn locate_job(text: &str, job: &str, occurrence: usize) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let code = strip_comment(line);
            let col = code.find("job_name:")?;
            let value = code[col + "job_name:".len()..].trim();
            // In flow style (`{job_name: a, ...}`) the value ends at `,`/`}`.
            let value = value.split([',', '}']).next().unwrap_or(value).trim();
            let unquoted = value.trim_matches(|c| c == '"' || c == '\'');
            (unquoted == job).then_some((i + 1, code[..col].chars().count() + 1))
        })
        .nth(occurrence)
}

/// `line` without its comment: from a `#` at the start or after a blank,
/// outside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev_blank = true;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') if prev_blank => return &line[..i],
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            _ => {}
        }
        prev_blank = c == ' ' || c == '\t';
    }
    line
}

/// Line and column of a top-level key.
fn locate_key(text: &str, key: &str) -> Option<(usize, usize)> {
    let prefix = format!("{key}:");
    text.lines()
        .enumerate()
        .find_map(|(i, line)| line.starts_with(&prefix).then_some((i + 1, 1)))
}
