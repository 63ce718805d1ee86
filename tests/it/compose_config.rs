//! `docker-compose.yml`, `examples/belfry.yml` and the `Dockerfile` agree:
//! every scrape target is a compose service that exposes that port, every
//! `${VAR}` of the configuration is in Belfry's compose environment, every
//! file a service mounts exists in the repository, the LMS services log
//! to the GELF port Belfry listens on and publishes, their DSN names
//! Belfry's port and a project of the configuration, and the image
//! listens on the port it exposes, runs as a non-root user with a health
//! check and ships a stripped binary. Docker cannot run here, so this is
//! what holds the three files together; `disagreements` is tested on
//! broken copies so that it cannot pass by checking nothing.

use std::path::Path;

use serde_json::Value;

/// The services the stack runs.
const SERVICES: [&str; 10] = [
    "belfry",
    "lms-api",
    "lms-worker",
    "lms-beat",
    "postgres",
    "redis",
    "node-exporter",
    "postgres-exporter",
    "redis-exporter",
    "celery-exporter",
];
const LMS_SERVICES: [&str; 3] = ["lms-api", "lms-worker", "lms-beat"];
const LMS_ENV: [&str; 6] = [
    "LMS_DATABASE_URL",
    "LMS_REDIS_URL",
    "SENTRY_DSN",
    "SENTRY_ENVIRONMENT",
    "SENTRY_RELEASE",
    "LMS_SERVICE_NAME",
];

struct Files {
    compose: Value,
    config: Value,
    dockerfile: String,
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn load() -> Files {
    let read = |p: &str| std::fs::read_to_string(repo().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    Files {
        compose: serde_norway::from_str(&read("docker-compose.yml")).unwrap(),
        config: serde_norway::from_str(&read("examples/belfry.yml")).unwrap(),
        dockerfile: read("Dockerfile"),
    }
}

/// A service's environment as name → value, from either compose form.
fn environment(service: &Value) -> Vec<(String, String)> {
    match &service["environment"] {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect(),
        Value::Array(list) => list
            .iter()
            .filter_map(|v| {
                v.as_str()?
                    .split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn env_value(service: &Value, name: &str) -> Option<String> {
    environment(service)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The port of `HOST:PORT`, `scheme://HOST:PORT/…` or `IP:PORT`.
fn port_of(address: &str) -> Option<u16> {
    let rest = address.split_once("://").map_or(address, |(_, r)| r);
    let host_port = rest.split('/').next()?;
    let host_port = host_port.rsplit_once('@').map_or(host_port, |(_, h)| h);
    host_port.rsplit_once(':')?.1.parse().ok()
}

fn host_of(address: &str) -> Option<&str> {
    let rest = address.split_once("://").map_or(address, |(_, r)| r);
    let host_port = rest.split('/').next()?;
    let host_port = host_port.rsplit_once('@').map_or(host_port, |(_, h)| h);
    Some(host_port.rsplit_once(':').map_or(host_port, |(h, _)| h))
}

/// The container ports a service exposes or publishes.
fn service_ports(service: &Value) -> Vec<(u16, &'static str)> {
    let mut ports = Vec::new();
    for v in service["expose"].as_array().into_iter().flatten() {
        let text = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
        let (port, proto) = text.split_once('/').unwrap_or((&text, "tcp"));
        if let Ok(p) = port.parse() {
            ports.push((p, if proto == "udp" { "udp" } else { "tcp" }));
        }
    }
    for v in service["ports"].as_array().into_iter().flatten() {
        let text = v.as_str().unwrap_or_default();
        let (mapping, proto) = text.split_once('/').unwrap_or((text, "tcp"));
        if let Some(p) = mapping.rsplit(':').next().and_then(|p| p.parse().ok()) {
            ports.push((p, if proto == "udp" { "udp" } else { "tcp" }));
        }
    }
    ports
}

/// `${NAME}` references in every string value of a YAML document (as the
/// configuration's expansion sees them: `$$` is a literal `$`).
fn variables(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(at) = rest.find('$') {
                let after = &rest[at + 1..];
                if let Some(tail) = after.strip_prefix('$') {
                    rest = tail;
                } else if let Some(inner) = after.strip_prefix('{')
                    && let Some(end) = inner.find('}')
                {
                    out.push(inner[..end].to_string());
                    rest = &inner[end + 1..];
                } else {
                    rest = after;
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| variables(v, out)),
        Value::Object(map) => map.values().for_each(|v| variables(v, out)),
        _ => {}
    }
}

/// The arguments of a Dockerfile's `INSTRUCTION` lines, continuation
/// lines (ending in `\\`) joined.
fn dockerfile_lines(text: &str, instruction: &str) -> Vec<String> {
    let joined = text.replace("\\\n", " ");
    joined
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let (word, rest) = l.split_once(char::is_whitespace)?;
            word.eq_ignore_ascii_case(instruction)
                .then(|| rest.trim().to_string())
        })
        .collect()
}

/// Everything the three files disagree on; empty when they agree.
fn disagreements(files: &Files, repo: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let services = files.compose["services"].as_object().cloned().unwrap_or_default();
    for name in SERVICES {
        if !services.contains_key(name) {
            out.push(format!("service {name} is missing from docker-compose.yml"));
        }
    }
    let null = Value::Null;
    let belfry = services.get("belfry").unwrap_or(&null);
    let listen = env_value(belfry, "BELFRY_LISTEN").unwrap_or_default();
    let listen_port = port_of(&listen);

    // The image.
    let docker_listen = dockerfile_lines(&files.dockerfile, "ENV")
        .into_iter()
        .find_map(|v| v.strip_prefix("BELFRY_LISTEN=").map(str::to_string));
    let exposed: Vec<u16> = dockerfile_lines(&files.dockerfile, "EXPOSE")
        .iter()
        .flat_map(|v| v.split_whitespace())
        .filter_map(|p| p.split('/').next()?.parse().ok())
        .collect();
    match docker_listen.as_deref().and_then(port_of) {
        None => out.push("the Dockerfile sets no BELFRY_LISTEN".to_string()),
        Some(p) => {
            if !exposed.contains(&p) {
                out.push(format!("the Dockerfile listens on {p} but exposes {exposed:?}"));
            }
            if listen_port != Some(p) {
                out.push(format!(
                    "compose's BELFRY_LISTEN {listen:?} is not the image's port {p}"
                ));
            }
        }
    }
    if !service_ports(belfry)
        .iter()
        .any(|&(p, proto)| Some(p) == listen_port && proto == "tcp")
    {
        out.push(format!("belfry does not publish its listen port {listen_port:?}"));
    }
    match dockerfile_lines(&files.dockerfile, "USER").last() {
        None => out.push("the image runs as root (no USER)".to_string()),
        Some(u) if u == "root" || u == "0" || u.starts_with("0:") => {
            out.push(format!("the image runs as root (USER {u})"))
        }
        Some(_) => {}
    }
    let healthcheck = dockerfile_lines(&files.dockerfile, "HEALTHCHECK");
    if !healthcheck.iter().any(|h| h.contains("health")) {
        out.push("the image has no HEALTHCHECK running `belfry health`".to_string());
    }
    let stripped = dockerfile_lines(&files.dockerfile, "ENV").iter().any(|v| {
        matches!(
            v.strip_prefix("CARGO_PROFILE_RELEASE_STRIP="),
            Some("symbols" | "true" | "\"symbols\"")
        )
    }) || dockerfile_lines(&files.dockerfile, "RUN")
        .iter()
        .any(|r| r.contains("strip ") && r.contains("belfry"));
    if !stripped {
        out.push("the image's binary is not stripped".to_string());
    }

    // `${VAR}`s of the configuration come from Belfry's environment.
    let mut vars = Vec::new();
    variables(&files.config, &mut vars);
    let belfry_env: Vec<String> = environment(belfry).into_iter().map(|(k, _)| k).collect();
    for v in &vars {
        if !belfry_env.contains(v) {
            out.push(format!(
                "belfry.yml uses ${{{v}}}, which belfry's compose environment does not set"
            ));
        }
    }

    // Scrape targets are services listening on that port (or Belfry itself).
    for job in files.config["scrape_configs"].as_array().into_iter().flatten() {
        let job_name = job["job_name"].as_str().unwrap_or("?");
        for target in job["static_configs"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["targets"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
        {
            let (host, port) = (host_of(target).unwrap_or(""), port_of(target));
            if host == "127.0.0.1" || host == "localhost" {
                if port != listen_port {
                    out.push(format!(
                        "job {job_name} scrapes {target}, not Belfry's listen port"
                    ));
                }
                continue;
            }
            match services.get(host) {
                None => out.push(format!(
                    "job {job_name} scrapes {target}: {host} is not a compose service"
                )),
                Some(s) => {
                    if !service_ports(s)
                        .iter()
                        .any(|&(p, proto)| Some(p) == port && proto == "tcp")
                    {
                        out.push(format!(
                            "job {job_name} scrapes {target}, but {host} does not expose that port"
                        ));
                    }
                }
            }
        }
    }

    // Mounted files exist.
    for (name, service) in &services {
        for v in service["volumes"].as_array().into_iter().flatten() {
            let Some(spec) = v.as_str() else { continue };
            let source = spec.split(':').next().unwrap_or("");
            if (source.starts_with("./") || source.starts_with("../")) && !repo.join(source).exists() {
                out.push(format!("{name} mounts {source}, which is not in the repository"));
            }
        }
    }
    if let Some(config_path) = env_value(belfry, "BELFRY_CONFIG") {
        let mounted = belfry["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|v| {
                v.split(':').nth(1) == Some(config_path.as_str()) && v.starts_with("./examples/belfry.yml:")
            });
        if !mounted {
            out.push(format!(
                "BELFRY_CONFIG {config_path} is not examples/belfry.yml mounted"
            ));
        }
    }

    // GELF: the LMS logs where Belfry listens, through the published port.
    let gelf = &files.config["logs"]["gelf"];
    let gelf_listen = gelf["listen"].as_str().unwrap_or("127.0.0.1:12201");
    let gelf_port = port_of(gelf_listen);
    if !gelf_listen.starts_with("0.0.0.0:") && !gelf_listen.starts_with("[::]:") {
        out.push(format!(
            "logs.gelf.listen {gelf_listen} is not reachable from outside the container"
        ));
    }
    let udp = gelf["protocols"]
        .as_array()
        .is_none_or(|p| p.iter().any(|x| x == "udp"));
    if gelf.is_null() {
        out.push("belfry.yml has no logs.gelf listener".to_string());
    }
    for name in LMS_SERVICES {
        let Some(service) = services.get(name) else {
            continue;
        };
        let logging = &service["logging"];
        let address = logging["options"]["gelf-address"].as_str().unwrap_or("");
        if logging["driver"] != "gelf" {
            out.push(format!("{name} does not log through the gelf driver"));
            continue;
        }
        if port_of(address) != gelf_port {
            out.push(format!(
                "{name} logs to {address}, not Belfry's GELF port {gelf_port:?}"
            ));
        }
        if address.starts_with("udp://") && !udp {
            out.push(format!(
                "{name} logs over UDP, which logs.gelf.protocols leaves out"
            ));
        }
        // The daemon sends from the host: Belfry's GELF port is published.
        let proto = if address.starts_with("udp://") {
            "udp"
        } else {
            "tcp"
        };
        let published = belfry["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|p| {
                let (mapping, pr) = p.split_once('/').unwrap_or((p, "tcp"));
                let parts: Vec<&str> = mapping.split(':').collect();
                pr == proto && parts.len() >= 2 && parts[parts.len() - 2].parse().ok() == port_of(address)
            });
        if !published {
            out.push(format!(
                "{name} logs to {address}, a port belfry does not publish on the host"
            ));
        }
        for var in LMS_ENV {
            if env_value(service, var).is_none() {
                out.push(format!("{name} has no {var}"));
            }
        }
        for (var, want) in [("LMS_DATABASE_URL", "postgres"), ("LMS_REDIS_URL", "redis")] {
            let url = env_value(service, var).unwrap_or_default();
            if host_of(&url) != Some(want) || !services.contains_key(want) {
                out.push(format!("{name}'s {var} {url:?} is not the {want} service"));
            }
        }
        // The DSN: Belfry's service and port, a configured project and key.
        let dsn = env_value(service, "SENTRY_DSN").unwrap_or_default();
        if host_of(&dsn) != Some("belfry") || port_of(&dsn) != listen_port {
            out.push(format!("{name}'s SENTRY_DSN {dsn:?} is not Belfry's address"));
        }
        let allowed = files.config["server"]["allowed_hosts"]
            .as_array()
            .is_some_and(|h| h.iter().any(|x| x == "belfry"));
        if !allowed {
            out.push(
                "belfry.yml's server.allowed_hosts lacks belfry, so the DSN's requests are refused"
                    .to_string(),
            );
        }
        let key = dsn
            .split_once("://")
            .and_then(|(_, r)| r.split_once('@'))
            .map(|(k, _)| k.to_string())
            .unwrap_or_default();
        let project: Option<u64> = dsn.rsplit('/').next().and_then(|p| p.parse().ok());
        let known = files.config["errors"]["projects"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| {
                p["id"].as_u64() == project
                    && p["keys"]
                        .as_array()
                        .is_some_and(|keys| keys.iter().any(|k| k == key.as_str()))
            });
        if !known {
            out.push(format!(
                "{name}'s SENTRY_DSN {dsn:?} names no project and key of belfry.yml"
            ));
        }
    }
    out
}

#[test]
fn compose_the_example_config_and_the_image_agree() {
    let files = load();
    assert_eq!(disagreements(&files, repo()), Vec::<String>::new());
}

fn expect(files: &Files, needle: &str) {
    let found = disagreements(files, repo());
    assert!(
        found.iter().any(|d| d.contains(needle)),
        "no disagreement naming {needle:?}: {found:#?}"
    );
}

#[test]
fn each_mismatch_is_found() {
    let mut f = load();
    f.config["scrape_configs"][2]["static_configs"][0]["targets"][0] = Value::from("node-exporter:9999");
    expect(&f, "node-exporter does not expose that port");

    let mut f = load();
    f.compose["services"]["belfry"]["environment"]
        .as_object_mut()
        .unwrap()
        .remove("SMTP_PASSWORD");
    expect(&f, "${SMTP_PASSWORD}");

    let mut f = load();
    f.compose["services"]["lms-api"]["logging"]["options"]["gelf-address"] =
        Value::from("udp://127.0.0.1:12202");
    expect(&f, "lms-api logs to udp://127.0.0.1:12202");

    let mut f = load();
    f.dockerfile = f.dockerfile.replace("EXPOSE 9900", "EXPOSE 9901");
    expect(&f, "exposes [9901]");

    let mut f = load();
    f.dockerfile = f.dockerfile.replace("HEALTHCHECK", "# HEALTHCHECK");
    expect(&f, "no HEALTHCHECK");

    let mut f = load();
    f.dockerfile = f.dockerfile.replace("USER belfry", "USER root");
    expect(&f, "runs as root");

    let mut f = load();
    f.dockerfile = f
        .dockerfile
        .replace("ENV CARGO_PROFILE_RELEASE_STRIP=symbols", "");
    expect(&f, "not stripped");

    let mut f = load();
    let dsn = f.compose["services"]["lms-worker"]["environment"]["SENTRY_DSN"]
        .as_str()
        .unwrap()
        .replace("/1", "/2");
    f.compose["services"]["lms-worker"]["environment"]["SENTRY_DSN"] = Value::from(dsn);
    expect(&f, "lms-worker's SENTRY_DSN");

    let mut f = load();
    f.compose["services"]["postgres-exporter"]["volumes"][0] =
        Value::from("./rules/lms/missing.yml:/etc/postgres-exporter/queries.yml:ro");
    expect(&f, "postgres-exporter mounts ./rules/lms/missing.yml");

    let mut f = load();
    f.compose["services"]
        .as_object_mut()
        .unwrap()
        .remove("celery-exporter");
    expect(&f, "service celery-exporter is missing");
}
