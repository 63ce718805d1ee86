//! Signing in and out: the login page, `POST /api/belfry/login` (JSON from
//! scripts, a form from the page, so signing in works before any script
//! runs), `POST /api/belfry/logout`, and `GET /api/belfry/session` (who one
//! is, and the CSRF token a page sends with its changes).

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Accounts, AuthError, Role, Verified};
use crate::web::access::credentials::{self, session_set_cookie};
use crate::web::access::{Principal, Source};
use crate::web::error::ApiError;
use crate::web::state::AppState;

use super::{blocking, success};

/// A login body is a name and a password: anything longer is refused
/// before it is parsed.
const MAX_LOGIN_BODY: usize = 8 * 1024;

#[derive(Deserialize)]
struct LoginBody {
    user: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// `GET /login`.
pub async fn login_page(State(state): State<Arc<AppState>>, uri: axum::http::Uri) -> Response {
    let next = query_param(uri.query().unwrap_or_default(), "next");
    page(StatusCode::OK, None, next.as_deref(), sso_name(&state))
}

/// The single sign-on provider's name, when one is configured.
fn sso_name(state: &AppState) -> Option<&str> {
    state.access.oidc().map(|o| o.display_name())
}

/// `POST /api/belfry/login`.
pub async fn login(
    State(state): State<Arc<AppState>>,
    Extension(source): Extension<Source>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = is_form(&headers);
    let body = match parse_body(&headers, &body) {
        Ok(b) => b,
        Err(e) if form => {
            return page(
                StatusCode::BAD_REQUEST,
                Some(&e.to_string()),
                None,
                sso_name(&state),
            );
        }
        Err(e) => return e.into_response(),
    };
    let next = body
        .next
        .as_deref()
        .filter(|n| is_local_path(n))
        .map(str::to_string);
    let Some(accounts) = state.access.accounts().cloned() else {
        return ApiError::NotFound("this server has no accounts to sign in to".to_string()).into_response();
    };
    match sign_in(&state, &accounts, body, &source.0).await {
        Ok((verified, cookie, csrf_token, expires)) => {
            let mut response = if form {
                Redirect::to(next.as_deref().unwrap_or("/")).into_response()
            } else {
                success(
                    json!({
                        "user": verified.name,
                        "role": verified.role,
                        "csrf_token": csrf_token,
                        "expires": expires,
                    }),
                    Vec::new(),
                )
                .into_response()
            };
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, v);
            }
            response
        }
        Err(e) if form => {
            let status = match &e {
                AuthError::Locked { .. } | AuthError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                AuthError::Busy | AuthError::Directory(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNAUTHORIZED,
            };
            page(status, Some(&e.to_string()), next.as_deref(), sso_name(&state))
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Checks the throttle and the password, then begins a session; returns
/// who, the `Set-Cookie` value, the CSRF token and when it ends.
async fn sign_in(
    state: &AppState,
    accounts: &Arc<Accounts>,
    body: LoginBody,
    source: &str,
) -> Result<(Verified, String, String, i64), AuthError> {
    let now = crate::model::now_millis().div_euclid(1000);
    if let Err(retry_after_secs) = accounts.throttle.check(source, now) {
        return Err(AuthError::Throttled { retry_after_secs });
    }
    // A local user signs in with their password here; any other name goes
    // to the directory when one is configured (else to the same decoy
    // work as a wrong password, so the answer says nothing of names).
    let directory = accounts
        .ldap
        .as_ref()
        .filter(|_| accounts.users.role_of(&body.user).is_none());
    let result = match directory {
        Some(ldap) => ldap.verify(&body.user, &body.password).await,
        None => accounts.users.verify(&body.user, &body.password, source).await,
    };
    let verified = match result {
        Ok(v) => v,
        Err(e) => {
            if matches!(e, AuthError::InvalidCredentials | AuthError::Locked { .. }) {
                accounts.throttle.fail(source, now);
            }
            // The directory's own message (its address, the search
            // account) is logged where it happens, not shown to whoever
            // is signing in.
            if let AuthError::Directory(_) = e {
                return Err(AuthError::Directory(
                    "the sign-in directory cannot be reached; try again later".to_string(),
                ));
            }
            return Err(e);
        }
    };
    let via = if directory.is_some() { "ldap" } else { "password" };
    let session = {
        let accounts = accounts.clone();
        let (name, role, source) = (verified.name.clone(), verified.role, source.to_string());
        tokio::task::spawn_blocking(move || match via {
            "ldap" => accounts
                .sessions
                .create_for_directory_user(&name, role, &source, via),
            _ => accounts.sessions.create(&name, &source, via),
        })
        .await
        .map_err(|_| AuthError::Busy)??
    };
    tracing::info!(user = %verified.name, source, via, "signed in");
    let cookie = session_set_cookie(
        &session.secret,
        session.expires - now,
        state.access.secure_cookies(),
    );
    Ok((verified, cookie, session.csrf_token, session.expires))
}

/// `POST /api/belfry/logout`: ends the session the cookie names.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    Extension(source): Extension<Source>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Principal::Program { .. } = principal {
        return Err(ApiError::BadData(
            "logout ends a session; this request carries an API token (remove a token with DELETE /api/belfry/tokens/NAME)"
                .to_string(),
        ));
    }
    if let (Some(accounts), Some(secret)) = (
        state.access.accounts().cloned(),
        credentials::session_cookie(&headers),
    ) {
        let actor = principal.actor(&source.0);
        blocking(move || Ok(accounts.sessions.revoke(&actor, &secret)?)).await?;
    }
    let mut response = success(json!({}), Vec::new()).into_response();
    if let Ok(v) = HeaderValue::from_str(&credentials::session_clear_cookie(state.access.secure_cookies())) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// `GET /api/belfry/session`: who the request is from.
pub async fn session(Extension(principal): Extension<Principal>, headers: HeaderMap) -> Response {
    let data = match &principal {
        Principal::Person { name, role } => json!({
            "kind": "session",
            "user": name,
            "role": role,
            "csrf_token": credentials::session_cookie(&headers)
                .map(|s| crate::auth::token_secret::csrf_token(&s)),
        }),
        Principal::Program { token, scopes } => json!({"kind": "token", "token": token, "scopes": scopes}),
        Principal::Open => json!({"kind": "open", "role": Role::Admin}),
        Principal::Anonymous => json!({"kind": "anonymous"}),
    };
    success(data, Vec::new()).into_response()
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<LoginBody, ApiError> {
    if body.len() > MAX_LOGIN_BODY {
        return Err(ApiError::BodyTooLarge {
            limit: MAX_LOGIN_BODY,
        });
    }
    if is_form(headers) {
        let mut user = None;
        let mut password = None;
        let mut next = None;
        for (k, v) in form_urlencoded::parse(body) {
            match &*k {
                "user" => user = Some(v.into_owned()),
                "password" => password = Some(v.into_owned()),
                "next" => next = Some(v.into_owned()),
                _ => {}
            }
        }
        return match (user, password) {
            (Some(user), Some(password)) => Ok(LoginBody { user, password, next }),
            _ => Err(ApiError::BadData("the form needs user and password".to_string())),
        };
    }
    serde_json::from_slice(body).map_err(|_| {
        ApiError::BadData(
            "the body must be JSON {\"user\": …, \"password\": …} or a form with user and password"
                .to_string(),
        )
    })
}

/// Where to go after signing in: only a path on this server, never
/// another site (`//host` and `/\host` are other sites to browsers).
pub(super) fn is_local_path(next: &str) -> bool {
    next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") && next.len() <= 2048
}

pub(super) fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|n| is_local_path(n))
}

/// The login page, with an error above the form when there is one, and
/// a link to the single sign-on provider `sso` names.
#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    error: Option<&'a str>,
    next: &'a str,
    /// The single sign-on link and the provider's name.
    sso: Option<(String, &'a str)>,
    assets: &'static str,
}

pub(super) fn page(
    status: StatusCode,
    error: Option<&str>,
    next: Option<&str>,
    sso: Option<&str>,
) -> Response {
    let next = next.unwrap_or("/");
    let sso = sso.map(|name| {
        let href = format!(
            "/login/oidc?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        );
        (href, name)
    });
    // The frame's headers (CSP, no framing, no caching) are added by
    // `ui::page_headers`, as on every page.
    crate::web::ui::render_with(
        status,
        &LoginPage {
            error,
            next,
            sso,
            assets: crate::web::ui::assets::version(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        for ok in ["/", "/d/overview?from=now-6h", "/api/v1/query"] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example",
            "evil",
            "",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn the_page_escapes_what_it_echoes() {
        let response = page(StatusCode::OK, Some("<script>"), Some("/\"><x"), Some("<Uni>"));
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            !body.contains("<script>") && !body.contains("<x") && !body.contains("<Uni>"),
            "{body}"
        );
        assert!(body.contains("&#60;script&#62;"), "{body}");
        assert!(body.contains("/login/oidc?next=%2F%22%3E%3Cx"), "{body}");
    }

    #[test]
    fn bodies_as_json_and_as_forms() {
        let mut h = HeaderMap::new();
        let b = parse_body(&h, br#"{"user":"ann","password":"pw"}"#).unwrap();
        assert_eq!((b.user.as_str(), b.password.as_str()), ("ann", "pw"));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let b = parse_body(&h, b"user=ann&password=p%26w&next=%2Fd%2Fx").unwrap();
        assert_eq!(b.password, "p&w");
        assert_eq!(b.next.as_deref(), Some("/d/x"));
        assert!(parse_body(&h, b"user=ann").is_err());
        assert!(parse_body(&h, &vec![b'a'; MAX_LOGIN_BODY + 1]).is_err());
    }
}
