//! The `belfry` command line: parse arguments, then hand over to `app`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod accounts_cli;
mod app;

/// Log ingest allocates a string or map node per JSON value; mimalloc
/// does that in a fraction of glibc's time, for a higher peak RSS
/// (benches/RESULTS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Where metrics and state are stored.
    #[arg(long, env = "BELFRY_DATA_DIR", default_value = "./data", global = true)]
    data_dir: PathBuf,
    /// Address to listen on (default 127.0.0.1:9900, or server.listen from the config).
    #[arg(long, env = "BELFRY_LISTEN", global = true)]
    listen: Option<SocketAddr>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The one-shot commands print their own reports; only the server
    // narrates its work at `info`.
    let serving = matches!(cli.command, None | Some(Command::Serve));
    app::init_logging(if serving { "info" } else { "warn" });
    let result = match cli.command {
        None | Some(Command::Serve) => app::serve(app::ServeOptions {
            config_path: cli.serve.config,
            data_dir: cli.serve.data_dir,
            listen: cli.serve.listen,
        }),
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
        }) => app::errors_project_add(
            cli.serve.config.as_deref(),
            &cli.serve.data_dir,
            cli.serve.listen,
            &name,
        ),
        Some(Command::User { what }) => {
            accounts_cli::user(cli.serve.config.as_deref(), &cli.serve.data_dir, what)
        }
        Some(Command::Token { what }) => {
            accounts_cli::token(cli.serve.config.as_deref(), &cli.serve.data_dir, what)
        }
        Some(Command::Import { file, format }) => {
            let format = format.map(|f| match f {
                ImportFormat::Prometheus => belfry::exposition::Format::PrometheusText,
                ImportFormat::Openmetrics => belfry::exposition::Format::OpenMetrics,
            });
            app::import(&cli.serve.data_dir, &file, format)
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
