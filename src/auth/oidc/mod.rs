//! Single sign-on with an OpenID Provider: the authorization code flow
//! with PKCE, for a confidential client. Knows nothing of HTTP serving:
//! `web` asks [`OidcLogin::begin`] where to send the browser and hands the
//! callback's parameters to [`OidcLogin::finish`], which answers who the
//! person is and with which role.
//!
//! One concept per file: `provider.rs` (discovery and the JWKS, fetched
//! when first needed and cached), `pkce.rs` (the verifier, its S256
//! challenge, state and nonce), `pending.rs` (logins begun and not yet
//! finished, bounded, short-lived, single use), `jws.rs` (a compact JWS's
//! signature against a JWK: RS256/384/512, PS256, ES256/384), `id_token.rs`
//! (the ID token's claims: `iss`, `aud`, `azp`, `exp`, `iat`, `nonce`),
//! `claims.rs` (claims → user name and role), `login.rs` (`OidcLogin`: the
//! flow, the code exchange, userinfo), `fetch.rs` (bounded JSON requests to
//! the provider), `metrics.rs`, `error.rs`.

mod claims;
mod error;
mod fetch;
mod id_token;
mod jws;
mod login;
mod metrics;
mod pending;
mod pkce;
mod provider;

pub use claims::RoleMapping;
pub use error::OidcError;
pub use login::{Begun, CallbackParams, OidcLogin, SignedIn};
pub use metrics::OidcMetrics;
