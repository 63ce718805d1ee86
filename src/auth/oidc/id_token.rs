//! The ID token's claims, checked as OpenID Connect Core §3.1.3.7 says
//! once its signature has verified: the issuer, the audience (and `azp`
//! when there are several), expiry and issue time with a small leeway for
//! clocks apart, and the nonce of the login it answers.

use serde_json::{Map, Value};

use super::error::OidcError;

/// Seconds two clocks may disagree by.
pub const LEEWAY_SECS: i64 = 60;

pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// Unix seconds.
    pub now: i64,
}

fn invalid(m: impl Into<String>) -> OidcError {
    OidcError::InvalidToken(m.into())
}

pub fn parse_claims(payload: &[u8]) -> Result<Map<String, Value>, OidcError> {
    match serde_json::from_slice(payload) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(invalid("its payload is not a JSON object")),
    }
}

pub fn validate(claims: &Map<String, Value>, want: &Expected<'_>) -> Result<(), OidcError> {
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == want.issuer => {}
        Some(iss) => return Err(invalid(format!("issued by {iss:?}, not {:?}", want.issuer))),
        None => return Err(invalid("it has no iss")),
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return Err(invalid("it has no aud")),
    };
    if !audiences.contains(&want.client_id) {
        return Err(invalid("it is meant for another client (aud)"));
    }
    match claims.get("azp").and_then(Value::as_str) {
        Some(azp) if azp != want.client_id => return Err(invalid("it was issued to another client (azp)")),
        None if audiences.len() > 1 => {
            return Err(invalid(
                "it names several audiences but no authorized party (azp)",
            ));
        }
        _ => {}
    }
    let time = |name: &str| claims.get(name).and_then(Value::as_f64).map(|t| t as i64);
    match time("exp") {
        Some(exp) if exp + LEEWAY_SECS > want.now => {}
        Some(_) => return Err(invalid("it has expired (exp)")),
        None => return Err(invalid("it has no exp")),
    }
    match time("iat") {
        Some(iat) if iat - LEEWAY_SECS <= want.now => {}
        Some(_) => {
            return Err(invalid(
                "it was issued in the future (iat); are the clocks apart?",
            ));
        }
        None => return Err(invalid("it has no iat")),
    }
    if claims.get("nonce").and_then(Value::as_str) != Some(want.nonce) {
        return Err(invalid("its nonce is not this sign-in's"));
    }
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(invalid("it has no sub"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn want() -> Expected<'static> {
        Expected {
            issuer: "https://idp.example.edu",
            client_id: "belfry",
            nonce: "n-123",
            now: NOW,
        }
    }

    fn good() -> Value {
        json!({"iss": "https://idp.example.edu", "aud": "belfry", "sub": "u1", "exp": NOW + 300, "iat": NOW, "nonce": "n-123"})
    }

    fn check(change: impl FnOnce(&mut Map<String, Value>)) -> Result<(), String> {
        let mut c = good().as_object().unwrap().clone();
        change(&mut c);
        validate(&c, &want()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_good_token_passes_and_each_check_can_fail() {
        check(|_| {}).unwrap();
        check(|c| {
            c.insert("aud".into(), json!(["other", "belfry"]));
            c.insert("azp".into(), json!("belfry"));
        })
        .unwrap();
        // Clocks a little apart are tolerated.
        check(|c| {
            c.insert("exp".into(), json!(NOW - LEEWAY_SECS + 1));
            c.insert("iat".into(), json!(NOW + LEEWAY_SECS));
        })
        .unwrap();
        type Change = Box<dyn FnOnce(&mut Map<String, Value>)>;
        let cases: [(&str, Change); 9] = [
            (
                "issued by",
                Box::new(|c| drop(c.insert("iss".into(), json!("https://evil.example")))),
            ),
            (
                "another client (aud)",
                Box::new(|c| drop(c.insert("aud".into(), json!("other")))),
            ),
            (
                "no authorized party",
                Box::new(|c| drop(c.insert("aud".into(), json!(["belfry", "x"])))),
            ),
            ("(azp)", Box::new(|c| drop(c.insert("azp".into(), json!("x"))))),
            (
                "expired",
                Box::new(|c| drop(c.insert("exp".into(), json!(NOW - LEEWAY_SECS)))),
            ),
            (
                "future",
                Box::new(|c| drop(c.insert("iat".into(), json!(NOW + LEEWAY_SECS + 1)))),
            ),
            (
                "nonce",
                Box::new(|c| drop(c.insert("nonce".into(), json!("n-456")))),
            ),
            ("nonce", Box::new(|c| drop(c.remove("nonce")))),
            ("no sub", Box::new(|c| drop(c.remove("sub")))),
        ];
        for (want, change) in cases {
            let e = check(change).unwrap_err();
            assert!(e.contains(want), "{want}: {e}");
        }
    }
}
