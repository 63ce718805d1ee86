//! The `belfry` command line: parse arguments, then hand over to `app`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod accounts_cli;
mod allocator;
mod app;
mod backup_cli;
mod flood_cli;
mod health_cli;
mod report_cli;
mod server_cli;
mod verify_cli;

#[derive(Parser)]
#[command(
    name = "belfry",
    version,
    about = "Metrics, alerts, logs and errors for a small LMS, in one binary."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(clap::Args, Clone)]
struct ServeArgs {
    /// Configuration file; without one Belfry runs on its embedded default.
    #[arg(long, env = "BELFRY_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Where metrics and state are stored (default ./data; ./data-demo with
    /// `serve --demo`).
    #[arg(long, env = "BELFRY_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:9900, or server.listen from the config).
    #[arg(long, env = "BELFRY_LISTEN", global = true)]
    listen: Option<SocketAddr>,
}

impl ServeArgs {
    fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| PathBuf::from("./data"))
    }
}

#[derive(clap::Args, Clone, Default)]
struct ServeFlags {
    /// Run a synthetic LMS inside the server (metrics, logs, errors and an
    /// incident every half hour) so every page has data; it is kept in a
    /// data directory of its own (default ./data-demo).
    #[arg(long)]
    demo: bool,
    /// How often the demo's incident starts (e.g. 8m); for tests and
    /// trying the alerts out.
    #[arg(long, env = "BELFRY_DEMO_INCIDENT_EVERY", hide = true, requires = "demo")]
    demo_incident_every: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(ServeFlags),
    /// Validate configuration or rule files.
    Check {
        #[command(subcommand)]
        what: CheckCommand,
    },
    /// Run rule unit tests (the `promtool test rules` format).
    Test {
        #[command(subcommand)]
        what: TestCommand,
    },
    /// Manage Sentry-compatible error projects.
    Errors {
        #[command(subcommand)]
        what: ErrorsCommand,
    },
    /// Manage local users (argon2id passwords in the data directory;
    /// belfry must not be running).
    User {
        #[command(subcommand)]
        what: accounts_cli::UserCommand,
    },
    /// Manage API tokens for programs (belfry must not be running).
    Token {
        #[command(subcommand)]
        what: accounts_cli::TokenCommand,
    },
    /// Alert flood mode on a running server (over its API).
    Flood {
        #[command(flatten)]
        server: server_cli::Server,
        #[command(subcommand)]
        what: flood_cli::FloodCommand,
    },
    /// Run the pre-production checklist against a running server (exit 0
    /// all passed, 1 a check failed, 2 the checks could not run).
    Verify {
        #[command(flatten)]
        server: server_cli::Server,
        #[command(flatten)]
        args: verify_cli::VerifyArgs,
    },
    /// Copy a running server's data directory into DIR (new or empty), which
    /// `belfry serve --data-dir DIR` then opens (over its API; an admin token).
    Backup {
        #[command(flatten)]
        server: server_cli::Server,
        dir: PathBuf,
    },
    /// Exit 0 when a server's /-/ready answers 200 (a container's health check).
    Health {
        #[command(flatten)]
        server: server_cli::Server,
    },
    /// The SEV-3 reports of a running server (over its API).
    Report {
        #[command(flatten)]
        server: server_cli::Server,
        #[command(subcommand)]
        what: report_cli::ReportCommand,
    },
    /// Backfill samples with timestamps from a text-format or OpenMetrics file.
    Import {
        file: PathBuf,
        #[arg(long, value_enum)]
        format: Option<ImportFormat>,
    },
}

#[derive(Subcommand)]
enum CheckCommand {
    /// Validate a configuration file; errors name file:line:column.
    Config { file: PathBuf },
    /// Parse and type-check rule files, with lint warnings.
    Rules {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TestCommand {
    /// Run rule unit-test files.
    Rules {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Only run test groups whose name matches this regex (repeatable).
        #[arg(long)]
        run: Vec<String>,
        /// Ignore unknown keys in the rule files the tests load.
        #[arg(long)]
        ignore_unknown_fields: bool,
    },
}

#[derive(Subcommand)]
enum ErrorsCommand {
    /// Projects events are sent to.
    Project {
        #[command(subcommand)]
        what: ProjectCommand,
    },
}

#[derive(Subcommand)]
enum ProjectCommand {
    /// Create a project with a new DSN key (stored in the data directory;
    /// belfry must not be running) and print its DSN.
    Add { name: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportFormat {
    Prometheus,
    Openmetrics,
}

/// `belfry serve [--demo]`: the demo's data directory defaults to
/// ./data-demo, so demo data never lands in ./data.
fn serve(args: ServeArgs, flags: ServeFlags) -> anyhow::Result<()> {
    let demo = if flags.demo {
        let incident_every = match flags.demo_incident_every.as_deref() {
            Some(text) => {
                belfry::model::PromDuration::parse(text)
                    .map_err(|e| anyhow::anyhow!("--demo-incident-every {text:?}: {e}"))?
                    .0
            }
            None => belfry::demo::DemoOptions::default().incident_every,
        };
        Some(belfry::demo::DemoOptions {
            incident_every,
            ..Default::default()
        })
    } else {
        None
    };
    let data_dir = match (&args.data_dir, demo.is_some()) {
        (Some(d), _) => d.clone(),
        (None, true) => PathBuf::from("./data-demo"),
        (None, false) => PathBuf::from("./data"),
    };
    app::serve(app::ServeOptions {
        config_path: args.config,
        data_dir,
        listen: args.listen,
        demo,
    })
}

fn main() -> ExitCode {
    allocator::configure();
    let cli = Cli::parse();
    // The one-shot commands print their own reports; only the server
    // narrates its work at `info`.
    let serving = matches!(cli.command, None | Some(Command::Serve(_)));
    app::init_logging(if serving { "info" } else { "warn" });
    let data_dir = cli.serve.data_dir();
    let result = match cli.command {
        None => app::serve(app::ServeOptions {
            config_path: cli.serve.config,
            data_dir,
            listen: cli.serve.listen,
            demo: None,
        }),
        Some(Command::Serve(flags)) => serve(cli.serve, flags),
        Some(Command::Check {
            what: CheckCommand::Config { file },
        }) => app::check_config(&file),
        Some(Command::Check {
            what: CheckCommand::Rules { files },
        }) => return app::check_rules(&files),
        Some(Command::Test {
            what:
                TestCommand::Rules {
                    files,
                    run,
                    ignore_unknown_fields,
                },
        }) => return app::test_rules(&files, run, ignore_unknown_fields),
        Some(Command::Errors {
            what: ErrorsCommand::Project {
                what: ProjectCommand::Add { name },
            },
        }) => app::errors_project_add(cli.serve.config.as_deref(), &data_dir, cli.serve.listen, &name),
        Some(Command::User { what }) => accounts_cli::user(cli.serve.config.as_deref(), &data_dir, what),
        Some(Command::Token { what }) => accounts_cli::token(cli.serve.config.as_deref(), &data_dir, what),
        Some(Command::Flood { server, what }) => flood_cli::flood(&server, what),
        Some(Command::Verify { server, args }) => return verify_cli::verify(&server, args),
        Some(Command::Backup { server, dir }) => backup_cli::backup(&server, &dir),
        Some(Command::Health { server }) => health_cli::health(&server),
        Some(Command::Report { server, what }) => report_cli::report(&server, what),
        Some(Command::Import { file, format }) => {
            let format = format.map(|f| match f {
                ImportFormat::Prometheus => belfry::exposition::Format::PrometheusText,
                ImportFormat::Openmetrics => belfry::exposition::Format::OpenMetrics,
            });
            app::import(&data_dir, &file, format)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("belfry: {e:#}");
            ExitCode::FAILURE
        }
    }
}
