//! `belfry health`: exits 0 when a server's `/-/ready` answers 200, 1
//! otherwise, saying why — the container image's health check, which has
//! no curl.

use std::time::Duration;

use anyhow::{Result, bail};

use crate::server_cli::{self, Server};

pub fn health(server: &Server) -> Result<()> {
    let url = server.url_of("/-/ready");
    let client = server.client(Duration::from_secs(5))?;
    let answer = server_cli::runtime()?.block_on(async { client.get(&url).send().await });
    match answer {
        Ok(r) if r.status().is_success() => {
            println!("{url}: {}", r.status());
            Ok(())
        }
        Ok(r) => bail!("{url}: {}: not ready", r.status()),
        Err(e) => bail!("{url}: cannot reach it: {e}"),
    }
}
