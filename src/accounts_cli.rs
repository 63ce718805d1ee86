//! `belfry user …` and `belfry token …`: local accounts and API tokens,
//! changed in the data directory's `state.redb` (which a running server
//! holds locked, so these run while it is stopped, as `belfry errors
//! project add` does). Passwords come from a prompt without echo on a
//! terminal, else from the first line of standard input — never from an
//! argument, which other users of the machine could read.

use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};

use belfry::auth::{Accounts, Actor, Role, Scope};
use belfry::model::PromDuration;
use belfry::selfmetrics::Registry;
use belfry::state::StateStore;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from the terminal or stdin.
    Add {
        name: String,
        #[arg(long, value_enum, default_value_t = RoleArg::Viewer)]
        role: RoleArg,
    },
    /// Set a user's password (and lift a lockout).
    Passwd { name: String },
    /// List users with their role and lockout state.
    List,
    /// Delete a user.
    Remove { name: String },
    /// Lift a lockout after repeated failed logins.
    Unlock { name: String },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print its secret (shown only this once).
    Add {
        name: String,
        /// What the token may do (repeatable).
        #[arg(long = "scope", value_enum, required = true)]
        scopes: Vec<ScopeArg>,
        /// Lifetime, e.g. 90d or 1y; without it the token does not expire.
        #[arg(long, value_parser = parse_duration)]
        expires: Option<Duration>,
    },
    /// List tokens with their scopes, expiry and last use.
    List,
    /// Delete a token; requests with it are refused from then on.
    Remove { name: String },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Viewer,
    Editor,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Editor => Role::Editor,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ScopeArg {
    Read,
    Ingest,
    Write,
    Admin,
}

impl From<ScopeArg> for Scope {
    fn from(s: ScopeArg) -> Scope {
        match s {
            ScopeArg::Read => Scope::Read,
            ScopeArg::Ingest => Scope::Ingest,
            ScopeArg::Write => Scope::Write,
            ScopeArg::Admin => Scope::Admin,
        }
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    match PromDuration::parse(text) {
        Ok(d) if !d.is_zero() => Ok(d.0),
        _ => Err(format!("{text:?} is not a duration like 90d, 12h or 1y")),
    }
}

fn open(config_path: Option<&Path>, data_dir: &Path) -> Result<Accounts> {
    let config = crate::app::load_config(config_path)?;
    let state = StateStore::open(data_dir).with_context(|| {
        format!(
            "cannot open the state store in {} (a running belfry holds it: stop it first)",
            data_dir.display()
        )
    })?;
    Accounts::open(state, &config.auth, &Registry::new()).context("cannot read the accounts")
}

pub fn user(config_path: Option<&Path>, data_dir: &Path, command: UserCommand) -> Result<()> {
    let accounts = open(config_path, data_dir)?;
    let users = &accounts.users;
    let actor = Actor::cli();
    match command {
        UserCommand::Add { name, role } => {
            let password = read_password()?;
            let info = users.add(&actor, &name, role.into(), &password)?;
            eprintln!("created user {:?} with role {}", info.name, info.role);
        }
        UserCommand::Passwd { name } => {
            if users.get(&name).is_none() {
                bail!("no user named {name:?} (see `belfry user list`)");
            }
            let password = read_password()?;
            accounts.set_password(&actor, &name, &password)?;
            eprintln!("changed the password of {name:?}");
        }
        UserCommand::List => {
            let now = belfry::model::now_millis() / 1000;
            println!("{:<24} {:<7} {:<20} STATE", "NAME", "ROLE", "CREATED");
            for u in users.list() {
                let state = match u.locked_until {
                    Some(until) if until > now => format!("locked until {}", time(until)),
                    _ if u.failed_logins > 0 => format!("{} failed logins", u.failed_logins),
                    _ => String::new(),
                };
                println!("{:<24} {:<7} {:<20} {state}", u.name, u.role, time(u.created));
            }
        }
        UserCommand::Remove { name } => {
            accounts.remove_user(&actor, &name)?;
            eprintln!("removed user {name:?}");
        }
        UserCommand::Unlock { name } => {
            users.unlock(&actor, &name)?;
            eprintln!("unlocked user {name:?}");
        }
    }
    Ok(())
}

pub fn token(config_path: Option<&Path>, data_dir: &Path, command: TokenCommand) -> Result<()> {
    let accounts = open(config_path, data_dir)?;
    let tokens = &accounts.tokens;
    match command {
        TokenCommand::Add {
            name,
            scopes,
            expires,
        } => {
            let scopes: Vec<Scope> = scopes.into_iter().map(Scope::from).collect();
            let new = tokens.add(&Actor::cli(), &name, &scopes, expires)?;
            // The secret alone on stdout, so `TOKEN=$(belfry token add …)`
            // works; the rest on stderr.
            println!("{}", new.secret);
            let expiry = new.info.expires.map_or_else(
                || "does not expire".to_string(),
                |e| format!("expires {}", time(e)),
            );
            eprintln!(
                "created token {:?} with scopes {}; it {expiry}. The secret above is shown only now: store it.",
                new.info.name,
                scope_list(&new.info.scopes)
            );
        }
        TokenCommand::List => {
            println!(
                "{:<24} {:<24} {:<20} {:<20} LAST USED",
                "NAME", "SCOPES", "CREATED", "EXPIRES"
            );
            for t in tokens.list() {
                println!(
                    "{:<24} {:<24} {:<20} {:<20} {}",
                    t.name,
                    scope_list(&t.scopes),
                    time(t.created),
                    t.expires.map_or_else(|| "never".to_string(), time),
                    t.last_used.map_or_else(|| "never".to_string(), time),
                );
            }
        }
        TokenCommand::Remove { name } => {
            tokens.remove(&Actor::cli(), &name)?;
            eprintln!("removed token {name:?}");
        }
    }
    Ok(())
}

fn scope_list(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

fn time(unix_seconds: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(u64::try_from(unix_seconds).unwrap_or(0));
    belfry::model::rfc3339(t)
}

/// A password without echo from a terminal (asked twice), or the first
/// line of standard input from a pipe.
fn read_password() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password("password: ").context("cannot read the password")?;
        let again = rpassword::prompt_password("password again: ").context("cannot read the password")?;
        if first != again {
            bail!("the two passwords differ; nothing was changed");
        }
        return Ok(first);
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("no password on standard input (pass it as the first line, or run on a terminal to be asked)");
    }
    Ok(password.to_string())
}
