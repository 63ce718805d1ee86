//! Who is sending: the DSN public key from `X-Sentry-Auth: Sentry
//! sentry_key=…, sentry_version=7, …` (or `Authorization` with the same
//! value), the `sentry_key` query parameter, or the envelope header's
//! `dsn` (`https://KEY@host/PROJECT`), in that order.

/// The `sentry_key` of an auth header value.
pub fn key_from_auth_header(value: &str) -> Option<&str> {
    let rest = value.trim();
    let rest = rest
        .strip_prefix("Sentry ")
        .or_else(|| rest.strip_prefix("sentry "))
        .unwrap_or(rest);
    rest.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == "sentry_key")
            .then(|| v.trim().trim_matches('"'))
            .filter(|v| !v.is_empty())
    })
}

/// The `sentry_key` of a query string.
pub fn key_from_query(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "sentry_key")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// The public key and project id of a DSN.
pub fn parse_dsn(dsn: &str) -> Option<(&str, Option<&str>)> {
    let (_, rest) = dsn.split_once("://")?;
    let (userinfo, host_path) = rest.split_once('@')?;
    let key = userinfo.split(':').next().filter(|k| !k.is_empty())?;
    let project = host_path
        .rsplit('/')
        .find(|s| !s.is_empty())
        .filter(|_| host_path.contains('/'));
    Some((key, project))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_places_a_key_comes_from() {
        let header = "Sentry sentry_key=0123abc, sentry_version=7, sentry_client=sentry.python/2.0.0";
        assert_eq!(key_from_auth_header(header), Some("0123abc"));
        assert_eq!(key_from_auth_header("Sentry sentry_version=7"), None);
        assert_eq!(
            key_from_query("sentry_version=7&sentry_key=abc"),
            Some("abc".to_string())
        );
        assert_eq!(key_from_query("sentry_key="), None);
        assert_eq!(
            parse_dsn("https://abc@o1.ingest.example/42"),
            Some(("abc", Some("42")))
        );
        assert_eq!(
            parse_dsn("http://abc:secret@127.0.0.1:9900/path/7"),
            Some(("abc", Some("7")))
        );
        assert_eq!(parse_dsn("not a dsn"), None);
    }
}
