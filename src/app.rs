//! Builds the subsystems from the configuration, runs their loops, reloads
//! on SIGHUP or `POST /-/reload`, and shuts everything down in order.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use parking_lot::RwLock;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use belfry::alerting::{Dispatcher, DispatcherOptions};
use belfry::config::{Config, StorageConfig, WalSync};
use belfry::exposition::Format;
use belfry::ingest::{ImportOptions, IngestLimits, IngestMetrics};
use belfry::logs::ingest::files::FileTailing;
use belfry::logs::{LogStore, LogStoreOptions};
use belfry::model::{AlertSink, AlertSource, Label, Labels};
use belfry::remote::{MetadataEntry, MetadataSource, RemoteManager, RemoteOptions, WalAccess};
use belfry::rules::{RuleManager, RuleManagerOptions};
use belfry::scrape::ScrapeManager;
use belfry::selfmetrics::Registry;
use belfry::state::StateStore;
use belfry::tsdb::wal::{SyncPolicy, WalOptions};
use belfry::tsdb::{ExemplarAppender, ExemplarStore, Storage, Tsdb, TsdbOptions};
use belfry::web::{self, AppState, Lifecycle, ReloadError, ReloadHandle, ReloadRequest};

pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9900);

pub struct ServeOptions {
    pub config_path: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub listen: Option<SocketAddr>,
    /// `serve --demo`: the synthetic LMS runs in the process.
    pub demo: Option<belfry::demo::DemoOptions>,
}

/// Logs to stderr at `BELFRY_LOG`'s filter, else at `default_level`.
pub fn init_logging(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BELFRY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

pub fn serve(opts: ServeOptions) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("belfry")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve_async(opts))
}

pub(crate) fn load_config(path: Option<&Path>) -> Result<Config> {
    match path {
        Some(p) => Config::load(p).map_err(|e| anyhow::anyhow!("{e}")),
        None => Ok(Config::embedded_default()),
    }
}

/// Beyond loopback, whoever can reach the address could use every route
/// if nobody could sign in as admin, so such a listen needs an admin user
/// or admin token first, or `auth.disabled` saying otherwise.
fn refuse_public_listen(addr: SocketAddr, accounts: &belfry::auth::Accounts, disabled: bool) -> Result<()> {
    if addr.ip().is_loopback() || accounts.has_admin() {
        return Ok(());
    }
    if disabled {
        tracing::warn!(address = %addr, "auth.disabled is set: listening beyond loopback with access control off; anyone who can reach this address can read and change everything");
        return Ok(());
    }
    bail!(
        "refusing to listen on {addr}: no admin user or admin token exists, so nobody could sign in \
         to manage access; create one first with `belfry user add NAME --role admin` (the password is \
         read from stdin), or set auth.admin in the configuration with its password from the \
         environment (password: ${{BELFRY_ADMIN_PASSWORD}}), or listen on a loopback address \
         (e.g. --listen 127.0.0.1:9900)"
    )
}

async fn serve_async(opts: ServeOptions) -> Result<()> {
    belfry::install_crypto_provider();
    if opts.demo.is_some() {
        // Before anything opens a store in it.
        belfry::demo::claim_data_dir(&opts.data_dir)?;
    }
    let mut config = load_config(opts.config_path.as_deref())?;
    let listen = opts
        .listen
        .or(config.server.listen_address)
        .unwrap_or(DEFAULT_LISTEN);
    // Accounts first: whether this listen may start depends on them.
    let state_store = {
        let data_dir = opts.data_dir.clone();
        tokio::task::spawn_blocking(move || StateStore::open(&data_dir))
            .await
            .context("the state store open task failed")?
            .context("cannot open the state store")?
    };
    let registry = Registry::new();
    let accounts = {
        let state_store = state_store.clone();
        let auth_config = config.auth.clone();
        let registry = registry.clone();
        tokio::task::spawn_blocking(move || -> Result<_> {
            let accounts = belfry::auth::Accounts::open(state_store, &auth_config, &registry)
                .context("cannot read the users and tokens")?;
            accounts
                .ensure_admin(&auth_config)
                .context("cannot create the admin user of auth.admin")?;
            Ok(Arc::new(accounts))
        })
        .await
        .context("the accounts start task failed")??
    };
    if config.auth.disabled {
        tracing::warn!(
            "auth.disabled is set: access control is off and every route is open to whoever can reach it"
        );
    }
    refuse_public_listen(listen, &accounts, config.auth.disabled)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local_addr = listener
        .local_addr()
        .context("cannot read the listening address")?;
    if opts.config_path.is_none() {
        config = embedded_default(local_addr);
    }
    if opts.demo.is_some() {
        config = demo_config(config);
    }
    // The self-scrape's credential, for once `/metrics` needs one.
    let self_scrape_secret = accounts
        .tokens
        .add_internal("belfry-self-scrape", &[belfry::auth::Scope::Read]);
    config = config.with_self_scrape_credentials(local_addr, &self_scrape_secret);

    let metrics_dir = opts.data_dir.join("metrics");
    std::fs::create_dir_all(&metrics_dir)
        .with_context(|| format!("cannot create the data directory {}", metrics_dir.display()))?;
    let tsdb_options = tsdb_options(&config.storage);
    let tsdb = {
        let registry = registry.clone();
        tokio::task::spawn_blocking(move || Tsdb::open(&metrics_dir, tsdb_options, &registry))
            .await
            .context("the storage open task failed")?
            .context("cannot open the metrics store")?
    };
    let storage: Arc<dyn Storage> = tsdb.clone();
    let logs = {
        let registry = registry.clone();
        let logs_dir = opts.data_dir.join("logs");
        let mut logs_options = LogStoreOptions::from_config(&config.logs);
        let privacy = belfry::privacy::Privacy::open(&config.logs.privacy, &opts.data_dir, registry.clone())
            .context("cannot set up the logs' privacy (user-id key, scrubbers)")?;
        logs_options.privacy = Some(privacy);
        tokio::task::spawn_blocking(move || LogStore::open(&logs_dir, logs_options, &registry))
            .await
            .context("the logs store open task failed")?
            .context("cannot open the logs store")?
    };
    let logs = Arc::new(logs);
    let log_listeners = belfry::logs::ingest::listen::Listeners::start(&config.logs, logs.clone(), &registry)
        .await
        .context("cannot start the log listeners")?;

    let exemplars = Arc::new(ExemplarStore::new(
        usize::try_from(config.storage.exemplars.max_exemplars).unwrap_or(usize::MAX),
        &registry,
    ));
    let exemplar_appender: Arc<dyn ExemplarAppender> = exemplars.clone();
    let scrape = ScrapeManager::with_exemplars(storage.clone(), Some(exemplar_appender), &registry);
    // Remote queues start before scraping, so a new one misses nothing.
    let remote = remote_manager(&tsdb, &scrape, &registry, &opts.data_dir)?;
    remote
        .apply_config(&config)
        .context("cannot start remote write")?;
    scrape.apply_config(&config).context("cannot start scraping")?;

    let shutdown = CancellationToken::new();
    // Errors: Sentry-compatible ingest, scrubbed with the logs' key and
    // scrubbers (plus IP addresses), issues and events in state.redb.
    let errors = {
        let state_store = state_store.clone();
        let errors_config = config.errors.clone();
        let privacy_config =
            belfry::errors::errors_privacy_config(&config.logs.privacy, &config.errors.scrub);
        let data_dir = opts.data_dir.clone();
        let registry = registry.clone();
        let storage = storage.clone();
        tokio::task::spawn_blocking(move || -> Result<_> {
            let privacy = belfry::privacy::Privacy::open(&privacy_config, &data_dir, registry.clone())
                .context("cannot set up the errors' privacy (user-id key, scrubbers)")?;
            // One writer for every errors table: their commits group.
            let writer = belfry::state::StateWriter::start(state_store.clone());
            let health = belfry::errors::ErrorHealth::open(
                state_store.clone(),
                writer.clone(),
                privacy.hasher.clone(),
                &*storage,
                &errors_config.limits,
                errors_config.retention.0.as_secs_f64(),
                &registry,
            )
            .context("cannot open release health, feedback and attachments")?;
            let scrubber = belfry::errors::EventScrubber::new(
                errors_config.scrub.enabled.then(|| privacy.scrubber.clone()),
                privacy.hasher.clone(),
            );
            let stored =
                belfry::errors::load_stored(&state_store).context("cannot read the stored error projects")?;
            let projects = belfry::errors::Projects::new(
                &errors_config.projects,
                stored,
                errors_config.limits.max_events_per_second,
            );
            let monitors = belfry::errors::MonitorStore::open(
                state_store.clone(),
                writer.clone(),
                errors_config.monitors.clone(),
                &registry,
            )
            .context("cannot open the cron monitors")?;
            let store = belfry::errors::ErrorStore::open(state_store, writer)
                .context("cannot open the error issues")?;
            Ok(belfry::errors::ErrorIngest::new(
                projects,
                Arc::new(store),
                scrubber,
                errors_config.fingerprint_rules,
                errors_config.limits,
                &registry,
            )
            .with_health(Arc::new(health))
            .with_monitors(Arc::new(monitors)))
        })
        .await
        .context("the error ingest start task failed")??
    };
    // One alert history: the rule manager records its alerts' changes,
    // the dispatcher those of the alerts it receives from elsewhere.
    let history = Arc::new(belfry::rules::AlertHistory::new(state_store.clone()));
    let alerting = {
        let registry = registry.clone();
        let alerting_config = config.alerting.clone();
        let external_url = external_url(&config, local_addr);
        let state_store = state_store.clone();
        let received_history: Arc<dyn belfry::model::AlertHistorySink> = Arc::new(history.queue());
        tokio::task::spawn_blocking(move || -> Result<_> {
            let options = DispatcherOptions {
                external_url,
                state: Some(state_store),
                history: Some(received_history),
                ..Default::default()
            };
            Dispatcher::new(alerting_config.as_ref(), options, &registry)
                .context("cannot start alert dispatch")
        })
        .await
        .context("the alert dispatch start task failed")??
    };
    let flood = {
        let alerting = alerting.clone();
        let flood_config = config.alerting_flood.clone();
        let state_store = state_store.clone();
        let audit = accounts.audit.clone();
        let registry = registry.clone();
        tokio::task::spawn_blocking(move || {
            belfry::alerting::FloodMode::new(
                alerting,
                flood_config.as_ref(),
                Some(state_store),
                Some(audit),
                &registry,
            )
            .context("cannot read alert flood mode's state")
        })
        .await
        .context("the alert flood mode start task failed")??
    };
    // Unusual logins: the logs store hands the detector the login events
    // of each stored batch; its alerts take the same routes.
    let logins = {
        let sink = alerting.sink(AlertSource::Logins);
        let (state_store, registry) = (state_store.clone(), registry.clone());
        let (logins_config, url) = (config.logins.clone(), external_url(&config, local_addr));
        tokio::task::spawn_blocking(move || {
            belfry::logins::LoginDetector::open(sink, Some(state_store), &logins_config, &url, &registry)
        })
        .await
        .context("the login checks start task failed")?
        .context("cannot start the login checks")?
    };
    logs.set_login_sink(logins.clone());
    tokio::spawn(logins.clone().run(shutdown.clone()));
    // Files are tailed once the store and the positions' table are open;
    // they are the last source stopped before the store closes.
    let files = Arc::new(FileTailing::new(logs.clone(), state_store.clone(), &registry));
    {
        let files = files.clone();
        let entries = config.logs.files.clone();
        tokio::task::spawn_blocking(move || files.apply(&entries))
            .await
            .context("the log file tailing start task failed")?
            .context("cannot start tailing logs.files")?;
    }
    tokio::spawn(alerting.clone().run(shutdown.clone()));
    tokio::spawn(belfry::errors::run_retention(
        errors.store().clone(),
        errors.health().map(|h| h.attachments.clone()),
        config.errors.retention.0,
        config.errors.retention_check_interval.0,
        registry.clone(),
        shutdown.clone(),
    ));
    // Alerting rules deliver their alerts to the dispatcher, as a
    // Prometheus would to its Alertmanager; each source through a handle
    // naming it, so the dispatcher keeps the history of all but the rules'.
    let rules_sink: Arc<dyn AlertSink> = alerting.sink(AlertSource::Rules);
    // Errors and cron monitors raise theirs through the same routes.
    let errors = Arc::new(errors.with_alerts(Arc::new(belfry::errors::ErrorAlerts::new(
        alerting.sink(AlertSource::Errors),
        config.errors.alerts.clone(),
        external_url(&config, local_addr),
        &registry,
    ))));
    let demo = match opts.demo {
        Some(demo_options) => Some(
            start_demo(
                demo_options,
                &config,
                belfry::demo::Sinks {
                    storage: storage.clone(),
                    logs: logs.clone(),
                    errors: errors.clone(),
                    project_id: 0,
                    project_key: String::new(),
                    runtime: tokio::runtime::Handle::current(),
                },
                &opts.data_dir,
            )
            .await?,
        ),
        None => None,
    };
    tokio::spawn(belfry::errors::run_monitor_task(
        errors.clone(),
        config.errors.monitors.check_interval.0,
        shutdown.clone(),
    ));
    // One LogQL engine serves the Loki API and LogQL rule groups.
    let logql = Arc::new(belfry::logql::LogqlEngine::new(
        logs.clone(),
        belfry::logql::QueryLimits::from_config(&config.logs.query),
        belfry::promql::EngineOptions::default(),
        &registry,
    ));
    let rules = RuleManager::with_logql(
        storage.clone(),
        Some(logql.clone()),
        Some(rules_sink),
        &registry,
        RuleManagerOptions {
            external_url: external_url(&config, local_addr),
            ..Default::default()
        },
    );
    rules.keep_history(history);
    flood.set_rules(rules.clone());
    tokio::spawn(flood.clone().run(shutdown.clone()));
    rules
        .apply_config(&config)
        .context("cannot load the rule files")?;
    let dashboards = {
        let state_store = state_store.clone();
        let opened = tokio::task::spawn_blocking(move || belfry::dashboards::Dashboards::open(state_store))
            .await
            .context("opening the dashboards stopped")?;
        Arc::new(opened.context("cannot read the stored dashboards")?)
    };
    let runbooks = {
        let (state_store, registry) = (state_store.clone(), registry.clone());
        let opened =
            tokio::task::spawn_blocking(move || belfry::runbooks::Runbooks::open(state_store, &registry))
                .await
                .context("opening the runbooks stopped")?;
        Arc::new(opened.context("cannot read the stored runbooks")?)
    };
    let backups = {
        let (data_dir, state_store, tsdb, logs, registry) = (
            opts.data_dir.clone(),
            state_store.clone(),
            tsdb.clone(),
            logs.clone(),
            registry.clone(),
        );
        tokio::task::spawn_blocking(move || {
            Arc::new(belfry::backup::Backups::new(
                &data_dir,
                state_store,
                tsdb,
                logs,
                &registry,
            ))
        })
        .await
        .context("the backup set-up task failed")?
    };
    let reports = Arc::new(belfry::reports::Reports::new(
        belfry::reports::Sources {
            storage: storage.clone(),
            query_options: belfry::promql::EngineOptions::default(),
            registry: registry.clone(),
            logql: Some(logql.clone()),
            errors: Some(errors.store().clone()),
            history: rules.history().cloned(),
            audit: Some(accounts.audit.clone()),
            limit_hits: None,
        },
        alerting.clone(),
        &config.reports,
        Some(state_store.clone()),
        &external_url(&config, local_addr),
        &registry,
    ));
    tokio::spawn(reports.clone().run(shutdown.clone()));
    let (reload_tx, reload_rx) = mpsc::channel::<ReloadRequest>(4);
    let lifecycle = Arc::new(Lifecycle::default());
    let state = Arc::new(AppState {
        storage: storage.clone(),
        exemplars,
        scrape: scrape.clone(),
        rules: rules.clone(),
        registry: registry.clone(),
        lifecycle: lifecycle.clone(),
        reload: ReloadHandle::new(reload_tx.clone()),
        external_labels: RwLock::new(external_labels(&config)),
        max_request_body_bytes: config.server.body_limit_bytes(),
        ingest_limits: ingest_limits(&config),
        ingest_metrics: IngestMetrics::new(&registry),
        metrics: web::WebMetrics::new(&registry),
        alerting,
        flood: Some(flood),
        query_options: belfry::promql::EngineOptions::default(),
        guard: web::Guard::new(
            web::HostPolicy::new(
                local_addr,
                config.server.extra_host_names(),
                config.server.external_origin(),
            ),
            &registry,
        ),
        access: access_control(&config, accounts.clone(), local_addr, &registry)?,
        transport: web::Transport::from_config(config.server.tls.as_ref()),
        status: web::StatusInfo::new(
            config.clone(),
            flags(&opts, local_addr),
            local_addr,
            tsdb.wal_replay(),
        ),
        logs: Some(logs.clone()),
        logql: Some(logql),
        errors: Some(errors.clone()),
        dashboards,
        runbooks,
        backup: Some(backups),
        reports: Some(reports),
    });

    let scrape_task = tokio::spawn(scrape.clone().run(shutdown.clone()));
    // Session and transaction counters reach the TSDB at this interval.
    let error_counters_task = errors.health().map(|h| {
        tokio::spawn(belfry::errors::run_counter_flush(
            h.counters.clone(),
            storage.clone(),
            std::time::Duration::from_secs(10),
            shutdown.clone(),
        ))
    });
    let rules_task = tokio::spawn(rules.clone().run(shutdown.clone()));
    let demo_task = demo.map(|d| tokio::spawn(d.run(shutdown.clone())));
    let tls = server_tls(&config, &registry)?;
    let reloader = Arc::new(Reloader {
        config_path: opts.config_path.clone(),
        demo: opts.demo.is_some(),
        local_addr,
        self_scrape_secret,
        scrape: scrape.clone(),
        remote: remote.clone(),
        files: files.clone(),
        logins: logins.clone(),
        state: state.clone(),
        tls: tls.clone(),
        running: parking_lot::Mutex::new(config),
    });
    tokio::spawn(reloader.run(reload_rx));
    tokio::spawn(forward_sighup(reload_tx));

    lifecycle.set_ready();
    tracing::info!(address = %local_addr, data_dir = %opts.data_dir.display(), "belfry is listening");
    let app = web::router(state);
    let stop = shutdown.clone();
    tokio::spawn(async move {
        wait_for_stop_signal().await;
        stop.cancel();
    });
    web::serve(listener, tls, app, shutdown.clone())
        .await
        .context("the http server failed")?;

    tracing::info!("shutting down");
    shutdown.cancel();
    let _ = scrape_task.await;
    let _ = rules_task.await;
    if let Some(task) = demo_task {
        let _ = task.await;
    }
    if let Some(task) = error_counters_task {
        let _ = task.await;
    }
    remote.stop().await;
    // Before the store closes: what the listeners read is stored first.
    log_listeners.stop().await;
    tokio::task::spawn_blocking(move || files.stop())
        .await
        .context("the log file tailing stop task failed")?;
    tokio::task::spawn_blocking(move || tsdb.close())
        .await
        .context("the storage close task failed")?
        .context("cannot close the metrics store cleanly")?;
    tokio::task::spawn_blocking(move || logs.close())
        .await
        .context("the logs store close task failed")?
        .context("cannot close the logs store cleanly")?;
    tokio::task::spawn_blocking(move || logins.flush())
        .await
        .context("the login checks' last save failed")?;
    Ok(())
}

/// The listener's TLS when `server.tls` is set (the pair was checked when
/// the configuration loaded; this reads it again to serve it).
fn server_tls(config: &Config, registry: &Registry) -> Result<Option<Arc<web::tls::ServerTls>>> {
    config
        .server
        .tls
        .as_ref()
        .map(|tls| web::tls::ServerTls::new(tls, registry).context("server.tls"))
        .transpose()
}

/// The command line as `/api/v1/status/flags` lists it.
fn flags(opts: &ServeOptions, listen: SocketAddr) -> std::collections::BTreeMap<String, String> {
    let config = opts
        .config_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    std::collections::BTreeMap::from([
        ("config".to_string(), config),
        ("data-dir".to_string(), opts.data_dir.display().to_string()),
        ("listen".to_string(), listen.to_string()),
    ])
}

/// Everything a reload needs; shared with the blocking task that does it.
struct Reloader {
    config_path: Option<PathBuf>,
    /// `serve --demo`: each reload adds the demo's rules and project again.
    demo: bool,
    local_addr: SocketAddr,
    self_scrape_secret: String,
    scrape: Arc<ScrapeManager>,
    remote: Arc<RemoteManager>,
    files: Arc<FileTailing>,
    logins: Arc<belfry::logins::LoginDetector>,
    state: Arc<AppState>,
    /// The listener's certificate, read again on every reload request.
    tls: Option<Arc<web::tls::ServerTls>>,
    /// The configuration in effect, to name the keys a reload cannot apply.
    running: parking_lot::Mutex<Config>,
}

impl Reloader {
    /// Applies new configurations one at a time; a bad one is reported to
    /// the requester and the running configuration stays. Reading and
    /// checking files blocks, so each reload runs on the blocking pool.
    async fn run(self: Arc<Self>, mut requests: mpsc::Receiver<ReloadRequest>) {
        while let Some(reply) = requests.recv().await {
            let this = self.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                // Whatever the configuration's fate: a certificate renewed
                // with a SIGHUP goes live even if the file has a mistake.
                // A failure is logged and counted by the TLS side.
                if let Some(tls) = &this.tls {
                    let _ = tls.reload();
                }
                this.reload_once()
            })
            .await
            .unwrap_or_else(|e| Err(ReloadError::Task(e)));
            match &outcome {
                Ok(()) => tracing::info!("configuration reloaded"),
                Err(e) => {
                    self.state.status.reload_failed();
                    tracing::error!(error = %e, "configuration reload failed; keeping the running configuration")
                }
            }
            let _ = reply.send(outcome);
        }
    }

    fn reload_once(&self) -> Result<(), ReloadError> {
        let mut config = match &self.config_path {
            Some(p) => Config::load(p)?,
            None => embedded_default(self.local_addr),
        };
        if self.demo {
            config = demo_config(config);
        }
        let config = config.with_self_scrape_credentials(self.local_addr, &self.self_scrape_secret);
        // All or nothing: every part that can fail is built first without
        // touching what runs — the alerting configuration (receivers,
        // template files), every changed scrape job (HTTP client, TLS
        // files) — then the rule files are applied (themselves all or
        // none, and the last step that can fail), then the rest goes live.
        let alerting = Dispatcher::prepare(config.alerting.as_ref())?;
        let scrape = self.scrape.prepare(&config)?;
        let remote = self.remote.prepare(&config)?;
        self.state.rules.apply_config(&config)?;
        self.state.alerting.install(alerting);
        if let Some(reports) = &self.state.reports {
            reports.reconfigure(&config.reports);
        }
        if let Some(flood) = &self.state.flood {
            flood.reconfigure(config.alerting_flood.as_ref());
        }
        // Thresholds at once; the geo database is read again.
        self.logins.reconfigure(&config.logins);
        if let Err(e) = self.scrape.install(scrape) {
            // Only when shutting down: scraping has stopped already.
            tracing::warn!(error = %e, "scrape configuration not installed");
        }
        self.remote.install(remote)?;
        // Applied live: the running loop saves its positions and a new one
        // resumes from them. A failure (the positions cannot be read) leaves
        // no file tailed and is reported without undoing the rest.
        if let Err(e) = self.files.apply(&config.logs.files) {
            tracing::error!(error = %e, "cannot apply logs.files; no log file is tailed");
        }
        *self.state.external_labels.write() = external_labels(&config);
        self.state
            .exemplars
            .resize(usize::try_from(config.storage.exemplars.max_exemplars).unwrap_or(usize::MAX));
        let mut running = self.running.lock();
        warn_restart_only_changes(&running, &config);
        self.state.status.config_applied(config.clone());
        *running = config;
        Ok(())
    }
}

/// `server.*` and `storage.*` are read once at start (the listener, the
/// request limits, the store's options): a reload keeps the running values
/// and says which changed keys wait for a restart.
fn warn_restart_only_changes(running: &Config, new: &Config) {
    let mut keys = running.server.changed_keys(&new.server);
    keys.extend(running.storage.changed_keys(&new.storage));
    keys.extend(running.logs.changed_keys(&new.logs));
    // Error projects, limits, scrubbing and rules are read at start.
    if running.errors != new.errors {
        keys.push("errors");
    }
    if keys.is_empty() {
        return;
    }
    tracing::warn!(
        keys = %keys.join(", "),
        "configuration reloaded, but these keys only take effect after a restart"
    );
}

#[cfg(unix)]
async fn forward_sighup(reload: mpsc::Sender<ReloadRequest>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; reload with POST /-/reload instead");
        return;
    };
    while hup.recv().await.is_some() {
        let (tx, _rx) = tokio::sync::oneshot::channel();
        if reload.send(tx).await.is_err() {
            return;
        }
    }
}

#[cfg(not(unix))]
async fn forward_sighup(_reload: mpsc::Sender<ReloadRequest>) {}

async fn wait_for_stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Where alerts, notifications and `$externalURL` (the rule packs'
/// `runbook_url`) point: `server.external_url` without a trailing `/`, as
/// Prometheus's `--web.external-url`, else the address Belfry listens on,
/// in the scheme it serves.
fn external_url(config: &Config, local_addr: SocketAddr) -> String {
    match config
        .server
        .external_url
        .as_deref()
        .map(|u| u.trim_end_matches('/'))
    {
        Some(url) if !url.is_empty() => url.to_string(),
        _ if config.server.tls.is_some() => format!("https://{local_addr}"),
        _ => format!("http://{local_addr}"),
    }
}

/// The embedded default: scrape ourselves at the address we listen on, and
/// evaluate the built-in LMS rule pack.
fn embedded_default(local_addr: SocketAddr) -> Config {
    Config::embedded_default().with_self_target(local_addr)
}

/// The demo's errors project (its DSN key is public: demo data only).
const DEMO_PROJECT: &str = "lms-demo";
const DEMO_PROJECT_KEY: &str = "0000demo0000key0000lms0000belfry";

/// `serve --demo`'s additions to the configuration: the LMS rule packs
/// (metrics and logs) and an errors project for the synthetic events.
fn demo_config(mut config: Config) -> Config {
    for pack in ["builtin:lms", "builtin:lms-logs"] {
        if !config.rule_files.iter().any(|f| f == pack) {
            config.rule_files.push(pack.to_string());
        }
    }
    if !config.errors.projects.iter().any(|p| p.name == DEMO_PROJECT) {
        let id = config.errors.projects.iter().map(|p| p.id).max().unwrap_or(0) + 1;
        config.errors.projects.push(belfry::config::ProjectConfig {
            id,
            name: DEMO_PROJECT.to_string(),
            keys: vec![DEMO_PROJECT_KEY.to_string()],
            // The backfill sends a day of events at once.
            max_events_per_second: Some(1_000_000),
        });
    }
    config
}

/// Writes the demo's day of history, then hands back its live loop.
async fn start_demo(
    options: belfry::demo::DemoOptions,
    config: &Config,
    mut sinks: belfry::demo::Sinks,
    data_dir: &Path,
) -> Result<belfry::demo::LiveLoop> {
    let project = config
        .errors
        .projects
        .iter()
        .find(|p| p.name == DEMO_PROJECT)
        .context("the demo's errors project is missing from the configuration")?;
    sinks.project_id = project.id;
    sinks.project_key = DEMO_PROJECT_KEY.to_string();
    tracing::warn!(
        data_dir = %data_dir.display(),
        incident_every = %belfry::model::PromDuration(options.incident_every),
        "demo mode: the metrics, logs and errors served are synthetic, from a simulated LMS, not a real deployment"
    );
    let mut demo = belfry::demo::Demo::new(options, sinks, belfry::model::now_millis());
    let (demo, report) = tokio::task::spawn_blocking(move || {
        let report = demo.backfill(belfry::model::now_millis());
        (demo, report)
    })
    .await
    .context("the demo's backfill task failed")?;
    let report = report.context("cannot write the demo's history")?;
    tracing::info!(
        series = demo.series_count(),
        samples = report.samples,
        log_lines = report.log_lines,
        error_events = report.error_events,
        seconds = format!("{:.1}", report.seconds),
        "demo history written"
    );
    Ok(belfry::demo::LiveLoop::new(demo))
}

/// The remote-write queues over the store's WAL, with scrape metadata.
fn remote_manager(
    tsdb: &Arc<Tsdb>,
    scrape: &Arc<ScrapeManager>,
    registry: &Registry,
    data_dir: &Path,
) -> Result<Arc<RemoteManager>> {
    let holds = tsdb
        .wal_holds()
        .context("the metrics store closed while starting")?;
    let lookup_store = tsdb.clone();
    let wal = WalAccess {
        dir: tsdb.wal_dir(),
        holds,
        lookup: Arc::new(move |r| lookup_store.series_labels(r)),
    };
    let metadata: Arc<dyn MetadataSource> = Arc::new(ScrapeMetadata(scrape.clone()));
    Ok(RemoteManager::new(
        wal,
        Some(metadata),
        registry,
        RemoteOptions::new(data_dir.to_path_buf()),
    ))
}

/// Scrape metadata for remote write's `metadata_config`.
struct ScrapeMetadata(Arc<ScrapeManager>);

impl MetadataSource for ScrapeMetadata {
    fn metadata(&self) -> Vec<MetadataEntry> {
        self.0
            .metadata()
            .into_iter()
            .map(|m| MetadataEntry {
                kind: metric_type(&m.kind),
                family: m.metric,
                help: m.help,
                unit: m.unit,
            })
            .collect()
    }
}

/// The type a scrape named (`counter`, `gauge`, ...); scraping keeps the
/// name, remote write sends the code.
fn metric_type(name: &str) -> belfry::model::MetricType {
    use belfry::model::MetricType;
    (0..8)
        .map(MetricType::from_remote_write_code)
        .find(|t| t.as_str() == name)
        .unwrap_or(MetricType::Unknown)
}

fn tsdb_options(storage: &StorageConfig) -> TsdbOptions {
    let sync = match storage.wal.sync {
        WalSync::Always => SyncPolicy::Always,
        WalSync::Interval(d) => SyncPolicy::Interval(d),
    };
    TsdbOptions {
        retention_time: storage.retention_time.0,
        retention_size: (storage.retention_size.0 > 0).then_some(storage.retention_size.0),
        wal: WalOptions {
            segment_size: storage.wal.segment_size.0,
            sync,
        },
        ..TsdbOptions::default()
    }
}

fn external_labels(config: &Config) -> Labels {
    Labels::new(
        config
            .global
            .external_labels
            .iter()
            .map(|(k, v)| Label::new(k, v))
            .collect(),
    )
}

/// Remote write and push share the server's label limits; the decompressed
/// body may be as large as the request body limit.
fn ingest_limits(config: &Config) -> IngestLimits {
    let server = &config.server;
    let as_usize = |n: u64| {
        if n == 0 {
            usize::MAX
        } else {
            usize::try_from(n).unwrap_or(usize::MAX)
        }
    };
    IngestLimits {
        max_decompressed_bytes: server.body_limit_bytes(),
        max_labels_per_series: as_usize(server.label_limit),
        max_label_name_bytes: as_usize(server.label_name_length_limit),
        max_label_value_bytes: as_usize(server.label_value_length_limit),
        ..IngestLimits::default()
    }
}

/// Checks a configuration as a reload would prepare it — scrape jobs'
/// HTTP clients (TLS and credential files), rule files, alerting receivers
/// and template files — without starting anything.
pub fn check_config(file: &Path) -> Result<()> {
    let config = Config::load(file).map_err(|e| anyhow::anyhow!("{e}"))?;
    ScrapeManager::check_config(&config).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    RemoteManager::check_config(&config).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let rule_files = belfry::rules::expand_globs(&config.rule_files)
        .and_then(|paths| {
            let specs = belfry::rules::load_specs(&paths)?;
            if let Some(flood) = &config.alerting_flood {
                belfry::rules::check_overrides(&specs, &flood.overrides)?;
            }
            Ok(paths)
        })
        .map_err(|e| anyhow::anyhow!("rule files: {e}"))?;
    Dispatcher::prepare(config.alerting.as_ref()).map_err(|e| anyhow::anyhow!("alerting config: {e}"))?;
    if let Some(oidc) = &config.auth.oidc {
        let callback = oidc
            .callback_url(config.server.external_url.as_deref())
            .map_err(anyhow::Error::msg)?;
        belfry::auth::oidc::OidcLogin::new(oidc, callback, &Registry::new())
            .context("cannot set up single sign-on (auth.oidc)")?;
    }
    println!(
        "{}: ok ({} scrape configs, {} rule files)",
        file.display(),
        config.scrape_configs.len(),
        rule_files.len()
    );
    Ok(())
}

/// Prints the report; the exit status says whether any file had errors.
pub fn check_rules(files: &[PathBuf]) -> ExitCode {
    let report = belfry::rules::check_rules(files);
    print!("{}", report.render());
    exit_code(report.exit_code())
}

pub fn test_rules(files: &[PathBuf], run: Vec<String>, ignore_unknown_fields: bool) -> ExitCode {
    let opts = belfry::rules::TestOptions {
        run,
        ignore_unknown_fields,
        ..belfry::rules::TestOptions::prometheus3()
    };
    let report = belfry::rules::test_rules(files, &opts);
    print!("{}", report.render());
    exit_code(report.exit_code())
}

fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

pub fn import(data_dir: &Path, file: &Path, format: Option<Format>) -> Result<()> {
    let registry = Registry::new();
    let metrics_dir = data_dir.join("metrics");
    std::fs::create_dir_all(&metrics_dir)
        .with_context(|| format!("cannot create the data directory {}", metrics_dir.display()))?;
    let tsdb = Tsdb::open(&metrics_dir, TsdbOptions::default(), &registry)
        .context("cannot open the metrics store (is a server running on this data dir?)")?;
    let options = ImportOptions::default();
    let metrics = IngestMetrics::new(&registry);
    let report = belfry::ingest::import_file(file, format, tsdb.as_ref() as &dyn Storage, &options, &metrics)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // Backfilled data is old by nature; compact it now rather than on the
    // server's next compaction pass.
    tsdb.compact_now(belfry::model::now_millis())
        .context("cannot compact the imported data")?;
    tsdb.close().context("cannot close the metrics store cleanly")?;
    println!(
        "{}: imported {} samples of {} series ({} new); {} samples skipped as already stored",
        file.display(),
        report.samples_written,
        report.series,
        report.series_created,
        report.samples_skipped
    );
    Ok(())
}

/// `belfry errors project add NAME`: stores a project with a fresh key in
/// the data directory's `state.redb` and prints its DSN for the listen
/// address (flag, else the configuration's, else the default).
pub fn errors_project_add(
    config_path: Option<&Path>,
    data_dir: &Path,
    listen: Option<SocketAddr>,
    name: &str,
) -> Result<()> {
    let config = load_config(config_path)?;
    let listen = listen.or(config.server.listen_address).unwrap_or(DEFAULT_LISTEN);
    let state = StateStore::open(data_dir).with_context(|| {
        format!(
            "cannot open the state store in {} (a running belfry holds it: stop it first, or add the \
             project to errors.projects in the configuration)",
            data_dir.display()
        )
    })?;
    let project = belfry::errors::add_project(&state, &config.errors.projects, name)
        .context("cannot add the project")?;
    println!("http://{}@{}/{}", project.keys[0], listen, project.id);
    Ok(())
}

/// The access layer: the accounts, and single sign-on when `auth.oidc`
/// is set (its callback URL from `redirect_url` or `server.external_url`).
fn access_control(
    config: &Config,
    accounts: Arc<belfry::auth::Accounts>,
    local_addr: SocketAddr,
    registry: &Registry,
) -> Result<web::AccessControl> {
    let access = web::AccessControl::new(
        accounts,
        config.auth.disabled,
        local_addr,
        config.server.serves_https() || config.server.tls.is_some(),
    );
    let Some(oidc) = &config.auth.oidc else {
        return Ok(access);
    };
    let callback = oidc
        .callback_url(config.server.external_url.as_deref())
        .map_err(anyhow::Error::msg)?;
    let login = belfry::auth::oidc::OidcLogin::new(oidc, callback, registry)
        .context("cannot set up single sign-on (auth.oidc)")?;
    tracing::info!(issuer = %oidc.issuer, "single sign-on through an OpenID Provider");
    Ok(access.with_oidc(login))
}
