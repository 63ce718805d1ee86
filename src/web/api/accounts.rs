//! Users, API tokens and the audit log over HTTP, for admins: what
//! `belfry user` and `belfry token` do on the command line, while the
//! server runs. Every change is recorded in the audit log by the accounts
//! themselves, with the admin and their address.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Accounts, AuthError, MAX_AUDIT_PAGE, Role, Scope};
use crate::model::PromDuration;
use crate::web::access::{ActingAs, Principal};
use crate::web::error::ApiError;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::{blocking, success};

fn accounts(state: &AppState) -> Result<Arc<Accounts>, ApiError> {
    state
        .access
        .accounts()
        .cloned()
        .ok_or_else(|| ApiError::NotFound("this server has no accounts".to_string()))
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8], shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadData(format!("the body must be {shape}: {e}")))
}

/// `GET /api/belfry/users`.
pub async fn list_users(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    Ok(success(accounts(&state)?.users.list(), Vec::new()).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    role: Role,
    password: String,
}

/// `POST /api/belfry/users` `{"name", "role", "password"}`.
pub async fn add_user(
    State(state): State<Arc<AppState>>,
    ActingAs(actor): ActingAs,
    body: Bytes,
) -> Result<Response, ApiError> {
    let accounts = accounts(&state)?;
    let new: NewUser = json_body(&body, "{\"name\", \"role\", \"password\"}")?;
    let info = blocking(move || Ok(accounts.users.add(&actor, &new.name, new.role, &new.password)?)).await?;
    Ok((StatusCode::CREATED, success(info, Vec::new())).into_response())
}

/// `GET /api/belfry/users/{name}`.
pub async fn get_user(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let info = accounts(&state)?
        .users
        .get(&name)
        .ok_or(AuthError::NoSuchUser(name))?;
    Ok(success(info, Vec::new()).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChange {
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    password: Option<String>,
}

/// `PUT /api/belfry/users/{name}` `{"role"?, "password"?}`; a new password
/// ends the user's sessions.
pub async fn update_user(
    State(state): State<Arc<AppState>>,
    ActingAs(actor): ActingAs,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let accounts = accounts(&state)?;
    let change: UserChange = json_body(&body, "{\"role\"?, \"password\"?}")?;
    if change.role.is_none() && change.password.is_none() {
        return Err(ApiError::BadData(
            "nothing to change: give role or password".to_string(),
        ));
    }
    let info = blocking(move || {
        if let Some(password) = &change.password {
            accounts.set_password(&actor, &name, password)?;
        }
        if let Some(role) = change.role {
            accounts.users.set_role(&actor, &name, role)?;
        }
        Ok(accounts.users.get(&name).ok_or(AuthError::NoSuchUser(name))?)
    })
    .await?;
    Ok(success(info, Vec::new()).into_response())
}

/// `DELETE /api/belfry/users/{name}`: with their sessions and the tokens
/// they created.
pub async fn remove_user(
    State(state): State<Arc<AppState>>,
    ActingAs(actor): ActingAs,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let accounts = accounts(&state)?;
    blocking(move || Ok(accounts.remove_user(&actor, &name)?)).await?;
    Ok(success(json!({}), Vec::new()).into_response())
}

/// `POST /api/belfry/users/{name}/unlock`.
pub async fn unlock_user(
    State(state): State<Arc<AppState>>,
    ActingAs(actor): ActingAs,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let accounts = accounts(&state)?;
    blocking(move || Ok(accounts.users.unlock(&actor, &name)?)).await?;
    Ok(success(json!({}), Vec::new()).into_response())
}

/// `GET /api/belfry/tokens`: names, scopes and times, never secrets.
pub async fn list_tokens(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    Ok(success(accounts(&state)?.tokens.list(), Vec::new()).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    scopes: Vec<Scope>,
    /// A duration like `90d`; absent: never expires.
    #[serde(default)]
    expires_in: Option<String>,
}

/// `POST /api/belfry/tokens` `{"name", "scopes", "expires_in"?}`: the
/// secret is in this answer and nowhere else, ever.
pub async fn add_token(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    ActingAs(actor): ActingAs,
    body: Bytes,
) -> Result<Response, ApiError> {
    let accounts = accounts(&state)?;
    let new: NewToken = json_body(&body, "{\"name\", \"scopes\", \"expires_in\"?}")?;
    let expires_in: Option<Duration> = match &new.expires_in {
        None => None,
        Some(text) => Some(
            PromDuration::parse(text)
                .map_err(|_| {
                    ApiError::BadData(format!("expires_in: {text:?} is not a duration like 90d or 12h"))
                })?
                .0,
        ),
    };
    // A person's token ends with their account; a token's (or the open
    // server's) stands alone, as one made on the command line.
    let owner = match &principal {
        Principal::Person { name, .. } => Some(name.clone()),
        _ => None,
    };
    let created = blocking(move || {
        Ok(accounts
            .tokens
            .add_owned(&actor, &new.name, &new.scopes, expires_in, owner.as_deref())?)
    })
    .await?;
    let body = json!({"token": created.info, "secret": created.secret});
    Ok((StatusCode::CREATED, success(body, Vec::new())).into_response())
}

/// `DELETE /api/belfry/tokens/{name}`.
pub async fn remove_token(
    State(state): State<Arc<AppState>>,
    ActingAs(actor): ActingAs,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let accounts = accounts(&state)?;
    blocking(move || Ok(accounts.tokens.remove(&actor, &name)?)).await?;
    Ok(success(json!({}), Vec::new()).into_response())
}

/// `GET /api/belfry/audit?limit=&before=`: newest first; `next` is the
/// `before` of the following page.
pub async fn audit(State(state): State<Arc<AppState>>, params: Params) -> Result<Response, ApiError> {
    let accounts = accounts(&state)?;
    let limit = match params.get("limit") {
        None | Some("") => 100,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_AUDIT_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::BadData(format!(
                    "invalid parameter \"limit\": {s:?} (1 to {MAX_AUDIT_PAGE})"
                ))
            })?,
    };
    let before = params.get("before").filter(|b| !b.is_empty()).map(str::to_string);
    let page = blocking(move || Ok(accounts.audit.list(before.as_deref(), limit)?)).await?;
    Ok(success(page, Vec::new()).into_response())
}
