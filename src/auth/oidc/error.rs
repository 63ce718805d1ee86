//! Why a single sign-on did not complete. Messages say what went wrong
//! for the person at the login page and the operator reading the log;
//! none carries a code, a token, a secret or a verifier.

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// Discovery or the JWKS could not be read or made no sense.
    #[error("cannot read the identity provider's configuration: {0}")]
    Discovery(String),
    /// The provider sent the browser back with an error (the person
    /// cancelled, or the provider refused the client).
    #[error("the identity provider refused the sign-in: {0}")]
    Provider(String),
    /// No pending login has this state: forged, already used, or expired.
    #[error("this sign-in link is unknown, expired or already used; start again")]
    UnknownState,
    /// The callback lacks its `code` or `state`.
    #[error("the identity provider's answer lacks {0}")]
    MissingParameter(&'static str),
    /// The token endpoint refused the code or answered nonsense.
    #[error("the identity provider did not exchange the code: {0}")]
    Exchange(String),
    /// The ID token failed a check (signature, issuer, audience, time,
    /// nonce).
    #[error("the identity provider's ID token is not valid: {0}")]
    InvalidToken(String),
    /// A claim Belfry needs is missing or not usable.
    #[error("{0}")]
    Claim(String),
    /// Signed in at the provider, but no claim value maps to a role and
    /// there is no default role.
    #[error("user {user:?} has no Belfry role: none of their {claim} values is in auth.oidc.roles")]
    NoRole { user: String, claim: String },
    /// The provider's name collides with a local account, whose role would
    /// otherwise be taken.
    #[error("user {0:?} is a local account; sign in with its password")]
    LocalUser(String),
    #[error("cannot build the HTTP client for the identity provider: {0}")]
    Client(String),
}

impl OidcError {
    /// The `reason` label of `belfry_auth_oidc_login_failures_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            OidcError::Discovery(_) | OidcError::Client(_) => "provider_unreachable",
            OidcError::Provider(_) => "provider_error",
            OidcError::UnknownState => "unknown_state",
            OidcError::MissingParameter(_) => "bad_callback",
            OidcError::Exchange(_) => "exchange",
            OidcError::InvalidToken(_) => "invalid_token",
            OidcError::Claim(_) => "claim",
            OidcError::NoRole { .. } => "no_role",
            OidcError::LocalUser(_) => "local_user",
        }
    }

    /// Whether the fault is the provider's or the network's (the person
    /// can do nothing about it) rather than the request's.
    pub fn is_upstream(&self) -> bool {
        matches!(
            self,
            OidcError::Discovery(_) | OidcError::Client(_) | OidcError::Exchange(_)
        )
    }
}
