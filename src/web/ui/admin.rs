//! `/admin`, for admins: users (add, unlock, remove), API tokens (add —
//! the secret shown once —, remove) and the audit log, newest first. Every
//! change goes through the accounts API, which records it.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::auth::{AuditEntry, TokenInfo, UserInfo};
use crate::web::state::AppState;

use super::frame::{Frame, Section};
use super::render::render;

const AUDIT_ROWS: usize = 100;

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    frame: Frame,
    section: Section,
    title: &'static str,
    /// `None` where the server has no accounts store.
    accounts: Option<Accounts>,
}

struct Accounts {
    users: Vec<UserInfo>,
    tokens: Vec<TokenInfo>,
    audit: Result<Vec<AuditEntry>, String>,
}

/// `GET /admin`.
pub async fn page(State(state): State<Arc<AppState>>, frame: Frame) -> Response {
    let accounts = match state.access.accounts().cloned() {
        None => None,
        Some(a) => {
            let users = a.users.list();
            let tokens = a.tokens.list();
            let audit = tokio::task::spawn_blocking(move || a.audit.list(None, AUDIT_ROWS))
                .await
                .map_err(|e| format!("the audit log read stopped: {e}"))
                .and_then(|r| r.map(|page| page.entries).map_err(|e| e.to_string()));
            Some(Accounts { users, tokens, audit })
        }
    };
    render(&AdminPage {
        frame,
        section: Section::Admin,
        title: "Admin",
        accounts,
    })
}
