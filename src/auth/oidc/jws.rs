//! A compact JWS (the ID token) checked against the provider's JWKS with
//! `ring`, the crypto rustls already uses here: RS256/384/512, PS256/384/512
//! and ES256/384. `none` and the HMAC algorithms are refused: an ID token
//! must be signed with a key the provider publishes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;

/// One key of a JWKS (RFC 7517); fields of other key types are ignored.
#[derive(Clone, Debug, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

#[derive(Deserialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// Extensions the verifier must understand; Belfry knows none.
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum JwsError {
    /// No key of the set fits the token's `kid` and algorithm: the caller
    /// may fetch the JWKS again (the provider rotated its keys).
    NoKey,
    Invalid(String),
}

enum Algorithm {
    Rsa(&'static signature::RsaParameters),
    Ec {
        alg: &'static signature::EcdsaVerificationAlgorithm,
        crv: &'static str,
    },
}

fn algorithm(alg: &str) -> Option<Algorithm> {
    Some(match alg {
        "RS256" => Algorithm::Rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
        "RS384" => Algorithm::Rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
        "RS512" => Algorithm::Rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
        "PS256" => Algorithm::Rsa(&signature::RSA_PSS_2048_8192_SHA256),
        "PS384" => Algorithm::Rsa(&signature::RSA_PSS_2048_8192_SHA384),
        "PS512" => Algorithm::Rsa(&signature::RSA_PSS_2048_8192_SHA512),
        "ES256" => Algorithm::Ec {
            alg: &signature::ECDSA_P256_SHA256_FIXED,
            crv: "P-256",
        },
        "ES384" => Algorithm::Ec {
            alg: &signature::ECDSA_P384_SHA384_FIXED,
            crv: "P-384",
        },
        _ => return None,
    })
}

fn b64(part: &str, what: &str) -> Result<Vec<u8>, JwsError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwsError::Invalid(format!("its {what} is not base64url")))
}

/// The payload of `token` once its signature verifies with one of `keys`.
pub fn verify(token: &str, keys: &[Jwk]) -> Result<Vec<u8>, JwsError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwsError::Invalid(
            "it is not a compact JWS (three parts)".to_string(),
        ));
    };
    let header: Header = serde_json::from_slice(&b64(h, "header")?)
        .map_err(|_| JwsError::Invalid("its header is not a JWS header".to_string()))?;
    if header.crit.is_some() {
        return Err(JwsError::Invalid(
            "its header has critical extensions".to_string(),
        ));
    }
    let Some(algorithm) = algorithm(&header.alg) else {
        return Err(JwsError::Invalid(format!(
            "it is signed with {:?}, which is not accepted (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384)",
            header.alg
        )));
    };
    let signature = b64(s, "signature")?;
    let signed = &token.as_bytes()[..h.len() + 1 + p.len()];
    let kty = match algorithm {
        Algorithm::Rsa(_) => "RSA",
        Algorithm::Ec { .. } => "EC",
    };
    let candidates = keys.iter().filter(|k| {
        k.kty == kty
            && k.use_.as_deref().is_none_or(|u| u == "sig")
            && k.alg.as_deref().is_none_or(|a| a == header.alg)
            && (header.kid.is_none() || k.kid == header.kid)
    });
    let mut tried = false;
    for key in candidates {
        tried = true;
        let ok = match &algorithm {
            Algorithm::Rsa(params) => {
                let (Some(n), Some(e)) = (&key.n, &key.e) else {
                    continue;
                };
                let (n, e) = (b64(n, "key's n")?, b64(e, "key's e")?);
                RsaPublicKeyComponents { n: &n, e: &e }
                    .verify(params, signed, &signature)
                    .is_ok()
            }
            Algorithm::Ec { alg, crv } => {
                let (Some(x), Some(y)) = (&key.x, &key.y) else {
                    continue;
                };
                if key.crv.as_deref() != Some(*crv) {
                    continue;
                }
                let mut point = vec![4u8];
                point.extend(b64(x, "key's x")?);
                point.extend(b64(y, "key's y")?);
                UnparsedPublicKey::new(*alg, &point)
                    .verify(signed, &signature)
                    .is_ok()
            }
        };
        if ok {
            return b64(p, "payload");
        }
    }
    if tried {
        Err(JwsError::Invalid("its signature does not verify".to_string()))
    } else {
        Err(JwsError::NoKey)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    /// A P-256 key and its JWK, for tests that need signed tokens.
    pub struct TestKey {
        pair: EcdsaKeyPair,
        pub jwk: Jwk,
    }

    impl TestKey {
        pub fn new(kid: &str) -> TestKey {
            let rng = SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
            let point = pair.public_key().as_ref();
            let jwk = Jwk {
                kty: "EC".into(),
                kid: Some(kid.into()),
                use_: Some("sig".into()),
                alg: None,
                n: None,
                e: None,
                crv: Some("P-256".into()),
                x: Some(URL_SAFE_NO_PAD.encode(&point[1..33])),
                y: Some(URL_SAFE_NO_PAD.encode(&point[33..65])),
            };
            TestKey { pair, jwk }
        }

        pub fn sign(&self, header: &serde_json::Value, payload: &serde_json::Value) -> String {
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(payload.to_string())
            );
            let sig = self.pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
        }
    }

    #[test]
    fn es256_verifies_and_tampering_does_not() {
        let key = TestKey::new("k1");
        let token = key.sign(
            &serde_json::json!({"alg": "ES256", "kid": "k1"}),
            &serde_json::json!({"sub": "ann"}),
        );
        let keys = [key.jwk.clone()];
        assert_eq!(verify(&token, &keys).unwrap(), br#"{"sub":"ann"}"#);
        // Another payload under the same signature.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(r#"{"sub":"root"}"#);
        parts[1] = &forged;
        assert!(matches!(
            verify(&parts.join("."), &keys),
            Err(JwsError::Invalid(_))
        ));
        // Signed by a key the set does not hold, under the same kid.
        let other = TestKey::new("k1");
        let token = other.sign(
            &serde_json::json!({"alg": "ES256", "kid": "k1"}),
            &serde_json::json!({}),
        );
        assert_eq!(
            verify(&token, &keys),
            Err(JwsError::Invalid("its signature does not verify".into()))
        );
    }

    #[test]
    fn an_unknown_kid_asks_for_the_keys_again() {
        let key = TestKey::new("k1");
        let token = key.sign(
            &serde_json::json!({"alg": "ES256", "kid": "k2"}),
            &serde_json::json!({}),
        );
        assert_eq!(verify(&token, &[key.jwk]), Err(JwsError::NoKey));
    }

    #[test]
    fn none_and_hmac_are_refused() {
        let key = TestKey::new("k1");
        for alg in ["none", "HS256"] {
            let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}"}}"#));
            let token = format!("{header}.{}.", URL_SAFE_NO_PAD.encode("{}"));
            let e = verify(&token, std::slice::from_ref(&key.jwk)).unwrap_err();
            assert!(
                matches!(&e, JwsError::Invalid(m) if m.contains("not accepted")),
                "{alg}: {e:?}"
            );
        }
        assert!(matches!(verify("a.b", &[key.jwk]), Err(JwsError::Invalid(_))));
    }
}
