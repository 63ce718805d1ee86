//! `OidcLogin`: the authorization code flow with PKCE from Belfry's side.
//! [`OidcLogin::begin`] remembers a pending login and names the provider's
//! authorization URL and a value for a browser cookie; the callback hands
//! its parameters and that cookie to [`OidcLogin::finish`], which takes
//! the pending login out (once), exchanges the code with the client's
//! secret and the PKCE verifier, verifies the ID token, reads userinfo
//! when the ID token lacks the claims the mapping needs, and answers who
//! signed in with which role.
//!
//! The cookie binds the callback to the browser that began the login: a
//! callback URL taken from someone else's sign-in (login CSRF: being
//! signed in as the attacker) finds no matching cookie and is refused.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::claims::RoleMapping;
use super::error::OidcError;
use super::fetch;
use super::id_token::{self, Expected};
use super::jws::{self, JwsError};
use super::metrics::OidcMetrics;
use super::pending::PendingLogins;
use super::pkce;
use super::provider::Provider;
use crate::auth::Role;
use crate::config::{OidcConfig, ProxySettings};
use crate::http_client::{ClientSettings, HttpClient};
use crate::selfmetrics::Registry;

/// Sign-ins begun and not finished, at most.
const MAX_PENDING: usize = 10_000;
/// Time a person has at the provider's login page.
const PENDING_TTL: Duration = Duration::from_secs(10 * 60);
/// A request to the provider gives up after this long.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The callback's query parameters.
#[derive(Debug, Default)]
pub struct CallbackParams {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// RFC 9207's issuer identification, where the provider sends it.
    pub iss: Option<String>,
}

/// A person the provider vouched for, with the role the claims give.
#[derive(Debug)]
pub struct SignedIn {
    pub name: String,
    pub role: Role,
    /// Where the login began (a local path).
    pub next: Option<String>,
}

/// Where to send the browser, and the value of the cookie that binds the
/// callback to it.
pub struct Begun {
    pub authorization_url: String,
    pub browser_binding: String,
}

pub struct OidcLogin {
    issuer: String,
    client_id: String,
    client_secret: String,
    scope: String,
    callback_url: String,
    display_name: String,
    provider: Provider,
    pending: PendingLogins,
    mapping: RoleMapping,
    metrics: OidcMetrics,
}

impl OidcLogin {
    /// Builds the client; nothing is fetched until the first sign-in.
    pub fn new(
        config: &OidcConfig,
        callback_url: String,
        registry: &Registry,
    ) -> Result<Arc<OidcLogin>, OidcError> {
        let http = HttpClient::new(&ClientSettings {
            tls: &config.tls_config,
            // A redirect from the token endpoint would carry the code
            // elsewhere; the provider's answers are taken as they come.
            follow_redirects: false,
            gzip: true,
            timeout: Some(PROVIDER_TIMEOUT),
            proxy: ProxySettings {
                url: None,
                no_proxy: None,
                from_environment: false,
            },
        })
        .map_err(|e| OidcError::Client(e.to_string()))?;
        let metrics = OidcMetrics::new(registry);
        Ok(Arc::new(OidcLogin {
            issuer: config.issuer.clone(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.expose().to_string(),
            scope: config.scopes.join(" "),
            callback_url,
            display_name: config.display_name.clone(),
            provider: Provider::new(config.issuer.clone(), http),
            pending: PendingLogins::new(MAX_PENDING, PENDING_TTL, metrics.pending_evicted.clone()),
            mapping: RoleMapping::from_config(config),
            metrics,
        }))
    }

    /// The provider's name for the login page.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// How long the browser binding cookie needs to live.
    pub fn pending_ttl(&self) -> Duration {
        PENDING_TTL
    }

    /// A new login: remembered, and the URL of the provider's login page.
    pub async fn begin(&self, next: Option<String>) -> Result<Begun, OidcError> {
        let (metadata, _) = self.provider.current().await.inspect_err(|e| self.count(e))?;
        let (state, nonce, verifier, binding) = (
            pkce::random_token(),
            pkce::random_token(),
            pkce::random_token(),
            pkce::random_token(),
        );
        let mut url = reqwest::Url::parse(&metadata.authorization_endpoint).map_err(|e| {
            let e = OidcError::Discovery(format!("authorization_endpoint is not a URL: {e}"));
            self.count(&e);
            e
        })?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.callback_url)
            .append_pair("scope", &self.scope)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &pkce::s256_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        self.pending
            .insert(state, verifier, nonce, binding_digest(&binding), next);
        Ok(Begun {
            authorization_url: url.into(),
            browser_binding: binding,
        })
    }

    /// Finishes the login the callback answers. `is_local_user` says
    /// whether a name is a local account's, which a directory's user may
    /// not take (the local account's role would apply to them). Counts
    /// the outcome.
    pub async fn finish(
        &self,
        params: CallbackParams,
        browser_binding: Option<&str>,
        is_local_user: impl Fn(&str) -> bool,
    ) -> Result<SignedIn, OidcError> {
        let result = self
            .finish_uncounted(params, browser_binding, is_local_user)
            .await;
        match &result {
            Ok(_) => self.metrics.logins.inc(),
            Err(e) => self.count(e),
        }
        result
    }

    fn count(&self, e: &OidcError) {
        self.metrics.failures.with(&[e.reason()]).inc();
    }

    async fn finish_uncounted(
        &self,
        params: CallbackParams,
        browser_binding: Option<&str>,
        is_local_user: impl Fn(&str) -> bool,
    ) -> Result<SignedIn, OidcError> {
        let state = params.state.ok_or(OidcError::MissingParameter("state"))?;
        // Taken out first, whatever follows: a callback is used once.
        let pending = self.pending.take(&state).ok_or(OidcError::UnknownState)?;
        if browser_binding.map(binding_digest).as_deref() != Some(pending.binding.as_str()) {
            return Err(OidcError::UnknownState);
        }
        // RFC 9207: an answer naming another issuer comes from another
        // provider (a mix-up attack), whatever else it says.
        if params.iss.as_ref().is_some_and(|iss| *iss != self.issuer) {
            return Err(OidcError::InvalidToken(
                "the callback names another issuer (iss)".to_string(),
            ));
        }
        if let Some(error) = params.error {
            let description = params.error_description.unwrap_or_default();
            return Err(OidcError::Provider(fetch::short(&format!(
                "{error} {description}"
            ))));
        }
        let code = params.code.ok_or(OidcError::MissingParameter("code"))?;
        let (metadata, keys) = self.provider.current().await?;
        let (id_token, access_token) = self
            .exchange(
                &metadata.token_endpoint,
                metadata.secret_in_body(),
                &code,
                &pending.verifier,
            )
            .await?;
        let payload = match jws::verify(&id_token, &keys) {
            Err(JwsError::NoKey) => match self.provider.refetch_keys().await? {
                Some(keys) => jws::verify(&id_token, &keys),
                None => Err(JwsError::NoKey),
            },
            other => other,
        }
        .map_err(|e| match e {
            JwsError::NoKey => {
                OidcError::InvalidToken("it is signed with a key the provider does not publish".to_string())
            }
            JwsError::Invalid(m) => OidcError::InvalidToken(m),
        })?;
        let mut claims = id_token::parse_claims(&payload)?;
        id_token::validate(
            &claims,
            &Expected {
                issuer: &self.issuer,
                client_id: &self.client_id,
                nonce: &pending.nonce,
                now: crate::auth::unix_now(),
            },
        )?;
        if !self.mapping.has_its_claims(&claims)
            && let (Some(endpoint), Some(access_token)) = (&metadata.userinfo_endpoint, &access_token)
        {
            self.merge_userinfo(endpoint, access_token, &mut claims).await?;
        }
        let name = self.mapping.user_name(&claims)?;
        if is_local_user(&name) {
            return Err(OidcError::LocalUser(name));
        }
        let role = self.mapping.role(&name, &claims)?;
        Ok(SignedIn {
            name,
            role,
            next: pending.next,
        })
    }

    /// The code for the ID token (and the access token, for userinfo).
    async fn exchange(
        &self,
        endpoint: &str,
        secret_in_body: bool,
        code: &str,
        verifier: &str,
    ) -> Result<(String, Option<String>), OidcError> {
        let exchange = OidcError::Exchange;
        // The body is built whole before any await (the serializer is not
        // Send).
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "authorization_code")
                .append_pair("code", code)
                .append_pair("redirect_uri", &self.callback_url)
                .append_pair("code_verifier", verifier);
            if secret_in_body {
                form.append_pair("client_id", &self.client_id)
                    .append_pair("client_secret", &self.client_secret);
            }
            form.finish()
        };
        let mut request = self
            .provider
            .http()
            .request(reqwest::Method::POST, endpoint)
            .await
            .map_err(|e| exchange(e.to_string()))?
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if !secret_in_body {
            // RFC 6749 §2.3.1: each part form-encoded before base64.
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let basic = STANDARD.encode(format!("{}:{}", enc(&self.client_id), enc(&self.client_secret)));
            request = request.header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"));
        }
        let (status, answer) = fetch::json(request.body(body), "the token endpoint")
            .await
            .map_err(exchange)?;
        if status != 200 {
            return Err(exchange(match fetch::oauth_error(&answer) {
                Some(e) => format!("HTTP {status}: {e}"),
                None => format!("HTTP {status}"),
            }));
        }
        let id_token = answer.get("id_token").and_then(Value::as_str).ok_or_else(|| {
            exchange("the answer has no id_token (is openid among auth.oidc.scopes?)".to_string())
        })?;
        let access_token = answer
            .get("access_token")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok((id_token.to_string(), access_token))
    }

    /// Claims the ID token lacks, from userinfo (OpenID Connect Core
    /// §5.3.2: its `sub` must be the ID token's).
    async fn merge_userinfo(
        &self,
        endpoint: &str,
        access_token: &str,
        claims: &mut Map<String, Value>,
    ) -> Result<(), OidcError> {
        let claim = |m: String| OidcError::Claim(format!("cannot read userinfo: {m}"));
        let request = self
            .provider
            .http()
            .request(reqwest::Method::GET, endpoint)
            .await
            .map_err(|e| claim(e.to_string()))?
            .bearer_auth(access_token);
        let (status, answer) = fetch::json(request, "the userinfo endpoint")
            .await
            .map_err(claim)?;
        let Value::Object(info) = answer else {
            return Err(claim(format!("HTTP {status}, not a JSON object")));
        };
        if status != 200 {
            return Err(claim(format!("HTTP {status}")));
        }
        if info.get("sub") != claims.get("sub") {
            return Err(OidcError::InvalidToken(
                "userinfo is about another subject (sub)".to_string(),
            ));
        }
        for (k, v) in info {
            claims.entry(k).or_insert(v);
        }
        Ok(())
    }
}

/// The pending login keeps a digest of the browser's cookie, not the value.
fn binding_digest(binding: &str) -> String {
    pkce::s256_challenge(binding)
}

#[cfg(test)]
mod tests {
    //! The flow against a small provider of our own: an ES256 key, the
    //! claims in the ID token (no userinfo), and the discovery document's
    //! issuer checked.

    use std::sync::Mutex;

    use axum::Router;
    use axum::extract::State;
    use axum::routing::{get, post};
    use serde_json::json;

    use super::super::jws::tests::TestKey;
    use super::*;

    struct Fake {
        issuer: String,
        /// The issuer the discovery document names.
        claimed_issuer: String,
        key: TestKey,
        /// The nonce of the authorization request, for the ID token.
        nonce: Mutex<String>,
        groups: Vec<&'static str>,
    }

    async fn serve(make: impl FnOnce(String) -> Fake) -> Arc<Fake> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let fake = Arc::new(make(issuer));
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(|State(f): State<Arc<Fake>>| async move {
                    axum::Json(json!({
                        "issuer": f.claimed_issuer,
                        "authorization_endpoint": format!("{}/auth", f.issuer),
                        "token_endpoint": format!("{}/token", f.issuer),
                        "jwks_uri": format!("{}/jwks", f.issuer),
                    }))
                }),
            )
            .route(
                "/jwks",
                get(|State(f): State<Arc<Fake>>| async move {
                    let k = &f.key.jwk;
                    axum::Json(json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": k.kid, "x": k.x, "y": k.y}]}))
                }),
            )
            .route(
                "/token",
                post(|State(f): State<Arc<Fake>>, body: String| async move {
                    assert!(body.contains("code=the-code") && body.contains("code_verifier="), "{body}");
                    let now = crate::auth::unix_now();
                    let id_token = f.key.sign(
                        &json!({"alg": "ES256", "kid": f.key.jwk.kid}),
                        &json!({"iss": f.issuer, "aud": "belfry", "sub": "u-1", "exp": now + 300, "iat": now,
                                "nonce": *f.nonce.lock().unwrap(), "preferred_username": "ann", "groups": f.groups}),
                    );
                    axum::Json(json!({"id_token": id_token, "access_token": "at", "token_type": "Bearer"}))
                }),
            )
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    fn login(issuer: &str) -> Arc<OidcLogin> {
        let yaml = format!(
            "issuer: {issuer}\nclient_id: belfry\nclient_secret: s3cret\nrole_claim: groups\nroles: {{it: admin, staff: viewer}}\n"
        );
        let config: OidcConfig = serde_norway::from_str(&yaml).unwrap();
        OidcLogin::new(
            &config,
            "http://belfry.test/login/oidc/callback".into(),
            &Registry::new(),
        )
        .unwrap()
    }

    fn param(url: &str, name: &str) -> String {
        let url = reqwest::Url::parse(url).unwrap();
        url.query_pairs().find(|(k, _)| k == name).unwrap().1.into_owned()
    }

    #[tokio::test]
    async fn an_es256_sign_in_with_the_claims_in_the_id_token() {
        let fake = serve(|issuer| Fake {
            claimed_issuer: issuer.clone(),
            issuer,
            key: TestKey::new("k1"),
            nonce: Mutex::new(String::new()),
            groups: vec!["staff", "it"],
        })
        .await;
        let oidc = login(&fake.issuer);
        let begun = oidc.begin(Some("/d/x".into())).await.unwrap();
        let url = &begun.authorization_url;
        assert_eq!(param(url, "code_challenge_method"), "S256");
        assert_eq!(
            param(url, "redirect_uri"),
            "http://belfry.test/login/oidc/callback"
        );
        *fake.nonce.lock().unwrap() = param(url, "nonce");
        let params = |state: String| CallbackParams {
            state: Some(state),
            code: Some("the-code".into()),
            iss: Some(fake.issuer.clone()),
            ..CallbackParams::default()
        };
        let signed_in = oidc
            .finish(params(param(url, "state")), Some(&begun.browser_binding), |_| {
                false
            })
            .await
            .unwrap();
        assert_eq!(signed_in.name, "ann");
        assert_eq!(signed_in.role, Role::Admin);
        assert_eq!(signed_in.next.as_deref(), Some("/d/x"));

        // A nonce other than the login's (a token from another sign-in).
        let begun = oidc.begin(None).await.unwrap();
        *fake.nonce.lock().unwrap() = "another".into();
        let e = oidc
            .finish(
                params(param(&begun.authorization_url, "state")),
                Some(&begun.browser_binding),
                |_| false,
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("nonce"), "{e}");
    }

    #[tokio::test]
    async fn a_discovery_document_naming_another_issuer_is_refused() {
        let fake = serve(|issuer| Fake {
            issuer,
            claimed_issuer: "https://evil.example".into(),
            key: TestKey::new("k1"),
            nonce: Mutex::new(String::new()),
            groups: vec![],
        })
        .await;
        let e = login(&fake.issuer).begin(None).await.err().unwrap();
        assert_eq!(e.reason(), "provider_unreachable");
        assert!(
            e.to_string().contains("names issuer \"https://evil.example\""),
            "{e}"
        );
    }
}
