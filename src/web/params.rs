//! Request parameters the Prometheus way: from the query string and, for
//! `POST` with `application/x-www-form-urlencoded`, from the body as well;
//! repeated keys such as `match[]` are kept in order.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{Method, header};

use crate::model::Matcher;
use crate::promql::{ParamError, PromqlError, time_param};

use super::error::ApiError;

/// Form bodies (e.g. Grafana's long `match[]` lists) are small; this bound
/// keeps a hostile one from taking memory.
const MAX_FORM_BODY_BYTES: usize = 4 << 20;

pub use crate::promql::{MAX_TIME_MS, MIN_TIME_MS, parse_time};

pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let mut pairs: Vec<(String, String)> = req
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if req.method() == Method::POST && is_form {
            let body: Body = req.into_body();
            let bytes = axum::body::to_bytes(body, MAX_FORM_BODY_BYTES)
                .await
                .map_err(|_| ApiError::BodyTooLarge {
                    limit: MAX_FORM_BODY_BYTES,
                })?;
            pairs.extend(form_urlencoded::parse(&bytes).into_owned());
        }
        Ok(Params(pairs))
    }
}

impl Params {
    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A timestamp parameter in ms; `default` when absent.
    pub fn time(&self, key: &'static str, default: i64) -> Result<i64, ApiError> {
        let t = time_param(key, self.get(key)).map_err(PromqlError::from)?;
        Ok(t.unwrap_or(default))
    }

    /// `start` and `end`, defaulting to the whole time range.
    pub fn time_range(&self) -> Result<(i64, i64), ApiError> {
        let start = self.time("start", MIN_TIME_MS)?;
        let end = self.time("end", MAX_TIME_MS)?;
        if end < start {
            return Err(PromqlError::from(ParamError::EndBeforeStart).into());
        }
        Ok((start, end))
    }

    /// `limit`: 0 or absent means no limit.
    pub fn limit(&self) -> Result<Option<usize>, ApiError> {
        match self.get("limit") {
            None | Some("") => Ok(None),
            Some(s) => match s.parse::<i64>() {
                Ok(0) => Ok(None),
                Ok(n) if n > 0 => Ok(Some(n as usize)),
                _ => Err(ApiError::BadData(format!(
                    "invalid parameter \"limit\": limit must be a non-negative integer, got {s:?}"
                ))),
            },
        }
    }

    /// Every `match[]` selector, each turned into the matcher sets it means
    /// (a selector with `or` yields several sets).
    pub fn match_sets(&self) -> Result<Vec<Vec<Matcher>>, ApiError> {
        let mut sets = Vec::new();
        for selector in self.all("match[]") {
            sets.extend(parse_selector(selector)?);
        }
        Ok(sets)
    }
}

/// Parses a series selector such as `up{job=~"api.*"}` into matcher sets.
pub fn parse_selector(selector: &str) -> Result<Vec<Vec<Matcher>>, ApiError> {
    parse_selector_param("match[]", selector)
}

/// As [`parse_selector`], for the parameter `param`, named in errors.
pub fn parse_selector_param(param: &str, selector: &str) -> Result<Vec<Vec<Matcher>>, ApiError> {
    use promql_parser::parser::Expr;

    let bad = |msg: String| ApiError::BadData(format!("invalid parameter \"{param}\": {msg}"));
    let expr = promql_parser::parser::parse(selector).map_err(bad)?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(bad(format!("{selector:?} is not a series selector")));
    };
    let sets = crate::promql::selector_matcher_sets(&vs).map_err(|e| bad(e.to_string()))?;
    for set in &sets {
        if set.iter().all(|m| m.matches_empty()) {
            return Err(bad(format!(
                "{param} must contain at least one non-empty matcher"
            )));
        }
    }
    Ok(sets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_becomes_matchers() {
        let sets = parse_selector(r#"up{job=~"api.*",instance!="x"}"#).unwrap();
        assert_eq!(sets.len(), 1);
        let names: Vec<_> = sets[0].iter().map(|m| m.to_string()).collect();
        assert_eq!(
            names,
            vec![r#"__name__="up""#, r#"job=~"api.*""#, r#"instance!="x""#]
        );
    }

    #[test]
    fn empty_matching_selector_is_refused() {
        let err = parse_selector(r#"{job=~".*"}"#).unwrap_err();
        assert!(err.to_string().contains("non-empty matcher"), "{err}");
        assert!(parse_selector("rate(x[5m])").is_err());
    }

    #[test]
    fn bad_limit_is_named() {
        let p = Params::from_pairs(&[("limit", "-1")]);
        assert!(p.limit().unwrap_err().to_string().contains("limit"));
    }
}
