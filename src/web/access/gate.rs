//! The access layer: in front of every route, it finds the route's rule,
//! decides who the request is from, refuses what that principal may not
//! do, checks the CSRF token of a state change made with a session, and
//! records successful changes in the audit log.
//!
//! Open (everything allowed) when access control is off: `auth.disabled`,
//! or a loopback listen while no user and no token exists — a developer's
//! laptop. The first user or token created closes it, from that request
//! on, whatever the address.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::oidc::OidcLogin;
use crate::auth::{Accounts, AuthError, Permission, token_secret};

use super::credentials::{self, Credentials};
use super::principal::{Principal, Source};
use super::route_table::{self, MISSING, Need, RouteRule, UNROUTED};
use crate::web::error::ApiError;
use crate::web::state::AppState;

/// What the access layer needs: the accounts, and when it is open.
pub struct AccessControl {
    /// None where a server runs without accounts (tests of other APIs):
    /// open, as a loopback server without accounts is.
    accounts: Option<Arc<Accounts>>,
    /// `auth.disabled`.
    disabled: bool,
    /// The listen address is a loopback one.
    loopback: bool,
    /// Cookies carry `Secure` (Belfry serves TLS, or is reached over
    /// https by `server.external_url`).
    secure_cookies: bool,
    /// Single sign-on (`auth.oidc`), beside the accounts.
    oidc: Option<Arc<OidcLogin>>,
}

impl AccessControl {
    pub fn new(accounts: Arc<Accounts>, disabled: bool, listen: SocketAddr, secure_cookies: bool) -> Self {
        AccessControl {
            accounts: Some(accounts),
            disabled,
            loopback: listen.ip().is_loopback(),
            secure_cookies,
            oidc: None,
        }
    }

    /// With single sign-on through `oidc`.
    pub fn with_oidc(mut self, oidc: Arc<OidcLogin>) -> Self {
        self.oidc = Some(oidc);
        self
    }

    pub fn oidc(&self) -> Option<&Arc<OidcLogin>> {
        self.oidc.as_ref()
    }

    /// No accounts: everything open (for servers built without them).
    pub fn open() -> Self {
        AccessControl {
            accounts: None,
            disabled: false,
            loopback: true,
            secure_cookies: false,
            oidc: None,
        }
    }

    pub fn accounts(&self) -> Option<&Arc<Accounts>> {
        self.accounts.as_ref()
    }

    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }

    /// Whether every request is allowed right now.
    pub fn is_open(&self) -> bool {
        if self.disabled {
            return true;
        }
        match &self.accounts {
            None => true,
            Some(a) => self.loopback && a.is_empty() && self.oidc.is_none(),
        }
    }
}

/// The client's address: the connection's peer where the server keeps it.
fn source_of(req: &Request) -> Source {
    Source(
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".to_string()),
    )
}

/// The layer.
pub async fn access(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let rule: &RouteRule = match req.extensions().get::<MatchedPath>() {
        None => &UNROUTED,
        Some(p) => route_table::rule_for(p.as_str()).unwrap_or(&MISSING),
    };
    let method = req.method().clone();
    let need = rule.need(&method);
    let source = source_of(&req);
    req.extensions_mut().insert(source.clone());
    let control = &state.access;
    let principal = if control.is_open() {
        Principal::Open
    } else if need == Need::Public || need == Need::DsnKey {
        // Who it is matters to the login handler only; a bad cookie on
        // the login page must not stop anyone signing in.
        identify(control, &req).unwrap_or(Principal::Anonymous)
    } else {
        match authorize(control, &req, &method, rule, need) {
            Ok(p) => p,
            Err(e) => return refuse(control, &req, &method, e),
        }
    };
    let audit = rule.audit.filter(|_| !route_table::is_read_method(&method));
    let actor = audit.map(|_| principal.actor(&source.0));
    req.extensions_mut().insert(principal);
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    if let (Some(action), Some(actor), Some(accounts)) = (audit, actor, control.accounts())
        && response.status().is_success()
    {
        accounts.record(&actor, action, &path, format!("{method}"));
    }
    response
}

/// Who the request is from, and whether they may do this.
fn authorize(
    control: &AccessControl,
    req: &Request,
    method: &Method,
    rule: &RouteRule,
    need: Need,
) -> Result<Principal, AuthError> {
    let principal = identify(control, req)?;
    if principal == Principal::Anonymous {
        return Err(AuthError::Unauthenticated);
    }
    let allowed = match need {
        Need::Public | Need::DsnKey | Need::Signed => true,
        Need::Permission(p) => principal.allows(p),
        Need::AnyOf(ps) => ps.iter().any(|p| principal.allows(*p)),
    };
    if !allowed {
        return Err(AuthError::Forbidden(forbidden_message(&principal, method, need)));
    }
    // A person's state change carries the session's CSRF token: the
    // cookie goes with any request the browser sends, the token only
    // with those Belfry's own pages make.
    if matches!(principal, Principal::Person { .. })
        && !route_table::is_read_method(method)
        && !rule.reads_by_post()
    {
        let secret = credentials::session_cookie(req.headers()).unwrap_or_default();
        let given = credentials::csrf_header(req.headers()).unwrap_or_default();
        if !token_secret::csrf_matches(&secret, given) {
            return Err(AuthError::Csrf);
        }
    }
    Ok(principal)
}

/// The principal the request's credentials name: a token first (programs
/// may also hold a cookie), then the session; Anonymous when nothing was
/// presented. Presented but refused credentials are an error, never
/// Anonymous, so a revoked token is told so rather than treated as no
/// token at all.
pub fn identify(control: &AccessControl, req: &Request) -> Result<Principal, AuthError> {
    let Some(accounts) = control.accounts() else {
        return Ok(Principal::Open);
    };
    let Credentials { token, session } = credentials::read(req.headers())?;
    if let Some(secret) = token {
        let info = accounts.tokens.check(&secret)?;
        // A token a person created ends with their account.
        if let Some(owner) = &info.owner
            && accounts.users.role_of(owner).is_none()
        {
            return Err(AuthError::UnknownToken);
        }
        return Ok(Principal::Program {
            token: info.name,
            scopes: info.scopes,
        });
    }
    if let Some(secret) = session {
        let user = accounts.sessions.check(&secret)?;
        // A local user's role is read now, so a change or a removal
        // applies from the next request; a directory's user keeps the
        // role they signed in with until the session ends.
        let role = match accounts.users.role_of(&user.name) {
            Some(role) => role,
            None => user.directory_role.ok_or(AuthError::NoSession)?,
        };
        return Ok(Principal::Person {
            name: user.name,
            role,
        });
    }
    Ok(Principal::Anonymous)
}

fn forbidden_message(principal: &Principal, method: &Method, need: Need) -> String {
    let what = match need {
        Need::Permission(p) => permission_name(p).to_string(),
        Need::AnyOf(ps) => ps
            .iter()
            .map(|p| permission_name(*p))
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "access".to_string(),
    };
    match principal {
        Principal::Person { role, .. } => {
            format!("{method} needs {what} permission, which the {role} role does not have")
        }
        Principal::Program { .. } => {
            format!("{method} needs {what} permission, which this token's scopes do not grant")
        }
        _ => format!("{method} needs {what} permission"),
    }
}

fn permission_name(p: Permission) -> &'static str {
    match p {
        Permission::Read => "read",
        Permission::Ingest => "ingest",
        Permission::Write => "write",
        Permission::Admin => "admin",
    }
}

/// The refusal: counted and logged; a browser loading a page without a
/// session is sent to the login page instead of shown JSON.
fn refuse(control: &AccessControl, req: &Request, method: &Method, e: AuthError) -> Response {
    let reason = match &e {
        AuthError::Forbidden(_) => "forbidden",
        AuthError::Csrf => "csrf",
        _ => "unauthenticated",
    };
    if let Some(accounts) = control.accounts() {
        accounts.metrics.access_refusals.with(&[reason]).inc();
    }
    tracing::info!(reason, %method, path = req.uri().path(), "request refused by access control");
    if reason == "unauthenticated" && *method == Method::GET && wants_html(req) {
        let next = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let target = format!("/login?next={}", percent_encode(next));
        return Redirect::to(&target).into_response();
    }
    let clear_cookie = matches!(e, AuthError::NoSession);
    let mut response = ApiError::from(e).into_response();
    // Programs are told how to authenticate; browsers (which send
    // `Sec-Fetch-Mode`) are not, or a script's request would pop up the
    // browser's own password dialog.
    if response.status() == StatusCode::UNAUTHORIZED && !req.headers().contains_key("sec-fetch-mode") {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"belfry\", charset=\"UTF-8\""),
        );
    }
    if clear_cookie
        && let Ok(v) = HeaderValue::from_str(&credentials::session_clear_cookie(control.secure_cookies()))
    {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// A browser navigating (not a script, not a program).
fn wants_html(req: &Request) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// Percent-encodes everything but unreserved characters and `/`.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
