//! Single sign-on's two routes: `GET /login/oidc` sends the browser to the
//! provider (with `next` kept for afterwards) and gives it a short-lived
//! cookie binding the login to it; `GET /login/oidc/callback` finishes
//! the login through `crate::auth::oidc`, begins a session as the login
//! form does, and goes on to `next`. Refusals render the login page with
//! the reason, and are counted there and logged here without secrets.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::oidc::{CallbackParams, OidcError, OidcLogin};
use crate::web::access::Source;
use crate::web::access::credentials::session_set_cookie;
use crate::web::state::AppState;

use super::session::{is_local_path, page, query_param};

/// The cookie binding a callback to the browser that began the login.
const BINDING_COOKIE: &str = "belfry_oidc";
const BINDING_PATH: &str = "/login/oidc";

fn binding_cookie(value: &str, max_age_secs: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    // Lax: the provider's redirect back is a top-level GET, which carries it.
    format!(
        "{BINDING_COOKIE}={value}; Path={BINDING_PATH}; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    )
}

fn binding_from(headers: &HeaderMap) -> Option<String> {
    crate::web::access::credentials::cookie(headers, BINDING_COOKIE)
}

fn not_configured(state: &AppState) -> Option<Response> {
    if state.access.oidc().is_some() && state.access.accounts().is_some() {
        return None;
    }
    Some(page(
        StatusCode::NOT_FOUND,
        Some("single sign-on is not configured on this server (auth.oidc)"),
        None,
        None,
    ))
}

fn refused(oidc: &OidcLogin, e: &OidcError, source: &str, next: Option<&str>) -> Response {
    tracing::warn!(reason = e.reason(), source, error = %e, "single sign-on refused");
    let status = if e.is_upstream() {
        StatusCode::BAD_GATEWAY
    } else if matches!(e, OidcError::NoRole { .. } | OidcError::LocalUser(_)) {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::BAD_REQUEST
    };
    page(status, Some(&e.to_string()), next, Some(oidc.display_name()))
}

/// `GET /login/oidc`.
pub async fn begin(
    State(state): State<Arc<AppState>>,
    Extension(source): Extension<Source>,
    uri: Uri,
) -> Response {
    if let Some(r) = not_configured(&state) {
        return r;
    }
    let Some(oidc) = state.access.oidc().cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let next = query_param(uri.query().unwrap_or_default(), "next");
    match oidc.begin(next.clone()).await {
        Ok(begun) => {
            let mut response = Redirect::to(&begun.authorization_url).into_response();
            let cookie = binding_cookie(
                &begun.browser_binding,
                oidc.pending_ttl().as_secs(),
                state.access.secure_cookies(),
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, v);
            }
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => refused(&oidc, &e, &source.0, next.as_deref()),
    }
}

/// `GET /login/oidc/callback`.
pub async fn callback(
    State(state): State<Arc<AppState>>,
    Extension(source): Extension<Source>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Some(r) = not_configured(&state) {
        return r;
    }
    let (Some(oidc), Some(accounts)) = (state.access.oidc().cloned(), state.access.accounts().cloned())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut params = CallbackParams::default();
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        let slot = match &*k {
            "state" => &mut params.state,
            "code" => &mut params.code,
            "error" => &mut params.error,
            "error_description" => &mut params.error_description,
            "iss" => &mut params.iss,
            _ => continue,
        };
        *slot = Some(v.into_owned());
    }
    let binding = binding_from(&headers);
    let signed_in = {
        let accounts = accounts.clone();
        oidc.finish(params, binding.as_deref(), move |name| {
            accounts.users.role_of(name).is_some()
        })
        .await
    };
    let signed_in = match signed_in {
        Ok(s) => s,
        Err(e) => return refused(&oidc, &e, &source.0, None),
    };
    let session = {
        let (name, role, source) = (signed_in.name.clone(), signed_in.role, source.0.clone());
        let accounts = accounts.clone();
        tokio::task::spawn_blocking(move || {
            accounts
                .sessions
                .create_for_directory_user(&name, role, &source, "oidc")
        })
        .await
    };
    let session = match session {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot begin a session after single sign-on");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&e.to_string()),
                None,
                Some(oidc.display_name()),
            );
        }
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    tracing::info!(user = %signed_in.name, role = %signed_in.role, source = %source.0, "signed in through single sign-on");
    let now = crate::model::now_millis().div_euclid(1000);
    let next = signed_in
        .next
        .filter(|n| is_local_path(n))
        .unwrap_or_else(|| "/".to_string());
    let mut response = Redirect::to(&next).into_response();
    let secure = state.access.secure_cookies();
    for cookie in [
        session_set_cookie(&session.secret, session.expires - now, secure),
        binding_cookie("", 0, secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binding_cookie_is_read_back_and_scoped() {
        let set = binding_cookie("abc", 600, true);
        assert!(
            set.contains("Path=/login/oidc; HttpOnly; SameSite=Lax; Max-Age=600; Secure"),
            "{set}"
        );
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("belfry_session=x; belfry_oidc=abc"),
        );
        assert_eq!(binding_from(&h).as_deref(), Some("abc"));
        assert_eq!(binding_from(&HeaderMap::new()), None);
    }
}
