//! `/api/v1/series`, `/api/v1/labels` and `/api/v1/label/{name}/values`.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde_json::Value;

use crate::model::Labels;
use crate::web::error::ApiError;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::{blocking, success};

fn truncated_warning() -> String {
    "results truncated due to limit".to_string()
}

pub async fn series(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    let sets = params.match_sets()?;
    if sets.is_empty() {
        return Err(ApiError::BadData("no match[] parameter provided".into()));
    }
    let (start, end) = params.time_range()?;
    let limit = params.limit()?;
    let storage = state.storage.clone();
    let (all, truncated) = blocking(move || {
        let querier = storage.querier();
        let mut all: BTreeSet<Labels> = BTreeSet::new();
        for set in &sets {
            for s in querier.select(set, start, end)? {
                all.insert(s.labels);
            }
        }
        let truncated = limit.is_some_and(|l| all.len() > l);
        let all: Vec<Labels> = all.into_iter().take(limit.unwrap_or(usize::MAX)).collect();
        Ok((all, truncated))
    })
    .await?;
    let data: Vec<&Labels> = all.iter().collect();
    let warnings = if truncated {
        vec![truncated_warning()]
    } else {
        vec![]
    };
    Ok(success(data, warnings))
}

pub async fn label_names(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    let sets = params.match_sets()?;
    let (start, end) = params.time_range()?;
    let limit = params.limit()?;
    let storage = state.storage.clone();
    let names = blocking(move || {
        let querier = storage.querier();
        if sets.is_empty() {
            return Ok(querier.label_names(&[], start, end)?);
        }
        let mut names = BTreeSet::new();
        for set in &sets {
            names.extend(querier.label_names(set, start, end)?);
        }
        Ok(names.into_iter().collect())
    })
    .await?;
    Ok(limited(names, limit))
}

pub async fn label_values(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    let name = decode_label_name(&name)?;
    let sets = params.match_sets()?;
    let (start, end) = params.time_range()?;
    let limit = params.limit()?;
    let storage = state.storage.clone();
    let values = blocking(move || {
        let querier = storage.querier();
        if sets.is_empty() {
            return Ok(querier.label_values(&name, &[], start, end)?);
        }
        let mut values = BTreeSet::new();
        for set in &sets {
            values.extend(querier.label_values(&name, set, start, end)?);
        }
        Ok(values.into_iter().collect())
    })
    .await?;
    Ok(limited(values, limit))
}

fn limited(mut items: Vec<String>, limit: Option<usize>) -> axum::Json<Value> {
    let mut warnings = vec![];
    if let Some(l) = limit.filter(|&l| items.len() > l) {
        items.truncate(l);
        warnings.push(truncated_warning());
    }
    success(items, warnings)
}

/// Label names in the path may use Prometheus's `U__` escaping for UTF-8
/// names (`U__my_2e_label` is `my.label`).
#[doc(hidden)]
pub fn decode_label_name(raw: &str) -> Result<String, ApiError> {
    let Some(rest) = raw.strip_prefix("U__") else {
        if raw.is_empty() {
            return Err(ApiError::BadData("invalid label name: empty".into()));
        }
        return Ok(raw.to_string());
    };
    let bad = || ApiError::BadData(format!("invalid label name: {raw:?}"));
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'_') {
            chars.next();
            out.push('_');
            continue;
        }
        let hex: String = chars.by_ref().take_while(|&h| h != '_').collect();
        let code = u32::from_str_radix(&hex, 16).map_err(|_| bad())?;
        out.push(char::from_u32(code).ok_or_else(bad)?);
    }
    if out.is_empty() {
        return Err(ApiError::BadData(format!(
            "invalid label name: {raw:?} is empty once decoded"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf8_label_names() {
        assert_eq!(decode_label_name("job").unwrap(), "job");
        assert_eq!(decode_label_name("U__my_2e_label").unwrap(), "my.label");
        assert_eq!(decode_label_name("U__a__b").unwrap(), "a_b");
        assert!(decode_label_name("U__bad_zz_").is_err());
    }

    #[test]
    fn escaped_empty_label_name_is_refused() {
        // Found by the api_params fuzz target: `U__` decoded to "".
        assert!(decode_label_name("").is_err());
        let err = decode_label_name("U__").unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }
}
