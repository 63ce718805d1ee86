//! Grafana's dashboard JSON, checked on the way in. Only what the
//! renderer and the store rely on is checked, and the rest is kept as
//! given, so a dashboard exported again is the dashboard imported. A
//! refusal names the field's path (`panels[3].gridPos.w`).

use serde_json::{Map, Value};

use super::DashboardError;

/// A dashboard document larger than this is refused before it is parsed.
pub const MAX_DASHBOARD_BYTES: usize = 2 << 20;
const MAX_UID_LEN: usize = 40;
/// Grafana's grid is 24 columns wide.
const GRID_COLUMNS: u64 = 24;

#[derive(Clone, Debug, PartialEq)]
pub struct Dashboard {
    pub uid: String,
    pub title: String,
    pub tags: Vec<String>,
    /// The whole model, its `uid` set and its `id` cleared (ids are a
    /// Grafana database's own, meaningless elsewhere).
    pub model: Value,
}

/// Parses a dashboard as Grafana exports it, or as its HTTP API and the
/// LMS guide's sample wrap it (`{"dashboard": {...}}`).
pub fn parse_dashboard(bytes: &[u8]) -> Result<Dashboard, DashboardError> {
    if bytes.len() > MAX_DASHBOARD_BYTES {
        return Err(DashboardError::TooLarge {
            size: bytes.len(),
            limit: MAX_DASHBOARD_BYTES,
        });
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        DashboardError::invalid(
            format!("line {}, column {}", e.line(), e.column()),
            format!("not JSON: {e}"),
        )
    })?;
    from_value(value)
}

fn from_value(value: Value) -> Result<Dashboard, DashboardError> {
    let Value::Object(mut model) = unwrap(value) else {
        return Err(DashboardError::invalid(
            "(top level)",
            "a dashboard is a JSON object",
        ));
    };
    let title = match model.get("title") {
        Some(Value::String(t)) if !t.trim().is_empty() => t.trim().to_string(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(DashboardError::invalid("title", "a dashboard needs a title"));
        }
        Some(other) => return Err(wrong_type("title", "a string", other)),
    };
    let uid = match model.get("uid") {
        None | Some(Value::Null) => slug(&title),
        Some(Value::String(u)) if u.is_empty() => slug(&title),
        Some(Value::String(u)) => check_uid(u)?,
        Some(other) => return Err(wrong_type("uid", "a string", other)),
    };
    let tags = strings(model.get("tags"), "tags")?;
    if let Some(panels) = model.get("panels") {
        check_panels(panels, "panels")?;
    }
    if let Some(rows) = model.get("rows") {
        // Grafana's format before schema 16: rows holding panels.
        let rows = array(rows, "rows")?;
        for (i, row) in rows.iter().enumerate() {
            let path = format!("rows[{i}]");
            let row = object(row, &path)?;
            if let Some(panels) = row.get("panels") {
                check_panels(panels, &format!("{path}.panels"))?;
            }
        }
    }
    if let Some(templating) = model.get("templating") {
        check_templating(templating)?;
    }
    if let Some(time) = model.get("time") {
        let time = object(time, "time")?;
        for key in ["from", "to"] {
            if let Some(v) = time.get(key)
                && !v.is_string()
            {
                return Err(wrong_type(
                    &format!("time.{key}"),
                    "a string such as \"now-6h\"",
                    v,
                ));
            }
        }
    }
    model.insert("uid".into(), Value::String(uid.clone()));
    model.insert("id".into(), Value::Null);
    Ok(Dashboard {
        uid,
        title,
        tags,
        model: Value::Object(model),
    })
}

/// The document inside Grafana's API wrapper, when it is one.
fn unwrap(value: Value) -> Value {
    match value {
        Value::Object(mut outer)
            if outer.get("dashboard").is_some_and(Value::is_object) && !outer.contains_key("panels") =>
        {
            outer.remove("dashboard").unwrap_or_default()
        }
        other => other,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(path: &str, want: &str, got: &Value) -> DashboardError {
    DashboardError::invalid(path, format!("must be {want}, not {}", kind(got)))
}

fn array<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>, DashboardError> {
    v.as_array().ok_or_else(|| wrong_type(path, "an array", v))
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, DashboardError> {
    v.as_object().ok_or_else(|| wrong_type(path, "an object", v))
}

fn strings(v: Option<&Value>, path: &str) -> Result<Vec<String>, DashboardError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    array(v, path)?
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.as_str()
                .map(str::to_string)
                .ok_or_else(|| wrong_type(&format!("{path}[{i}]"), "a string", t))
        })
        .collect()
}

fn check_uid(uid: &str) -> Result<String, DashboardError> {
    if uid.len() > MAX_UID_LEN {
        return Err(DashboardError::invalid(
            "uid",
            format!("{uid:?} is longer than {MAX_UID_LEN} characters"),
        ));
    }
    if !uid
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(DashboardError::invalid(
            "uid",
            format!("{uid:?} may hold only letters, digits, '-' and '_'"),
        ));
    }
    Ok(uid.to_string())
}

/// A uid from a title, for dashboards that come without one: readable in
/// the URL (`/d/lms-api-performance`), unlike Grafana's random ones.
pub(super) fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(MAX_UID_LEN).collect();
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "dashboard".to_string()
    } else {
        out
    }
}

fn check_panels(panels: &Value, path: &str) -> Result<(), DashboardError> {
    for (i, panel) in array(panels, path)?.iter().enumerate() {
        let path = format!("{path}[{i}]");
        let p = object(panel, &path)?;
        match p.get("type") {
            Some(Value::String(t)) if !t.is_empty() => {}
            Some(Value::String(_)) | None => {
                return Err(DashboardError::invalid(
                    format!("{path}.type"),
                    "a panel needs a type",
                ));
            }
            Some(other) => return Err(wrong_type(&format!("{path}.type"), "a string", other)),
        }
        if let Some(title) = p.get("title")
            && !title.is_string()
        {
            return Err(wrong_type(&format!("{path}.title"), "a string", title));
        }
        if let Some(grid) = p.get("gridPos") {
            check_grid(grid, &format!("{path}.gridPos"))?;
        }
        if let Some(targets) = p.get("targets").filter(|t| !t.is_null()) {
            for (j, target) in array(targets, &format!("{path}.targets"))?.iter().enumerate() {
                let tpath = format!("{path}.targets[{j}]");
                let t = object(target, &tpath)?;
                for key in ["expr", "legendFormat", "interval", "refId"] {
                    if let Some(v) = t.get(key)
                        && !v.is_string()
                    {
                        return Err(wrong_type(&format!("{tpath}.{key}"), "a string", v));
                    }
                }
            }
        }
        for key in ["fieldConfig", "options"] {
            if let Some(v) = p.get(key)
                && !v.is_object()
                && !v.is_null()
            {
                return Err(wrong_type(&format!("{path}.{key}"), "an object", v));
            }
        }
        // A collapsed row holds its panels.
        if let Some(inner) = p.get("panels") {
            check_panels(inner, &format!("{path}.panels"))?;
        }
    }
    Ok(())
}

fn check_grid(grid: &Value, path: &str) -> Result<(), DashboardError> {
    let g = object(grid, path)?;
    let get = |key: &str, min: u64| -> Result<u64, DashboardError> {
        let v = g
            .get(key)
            .ok_or_else(|| DashboardError::invalid(format!("{path}.{key}"), "is missing"))?;
        match v.as_u64() {
            Some(n) if n >= min => Ok(n),
            _ => Err(DashboardError::invalid(
                format!("{path}.{key}"),
                format!("must be a whole number of at least {min}, not {v}"),
            )),
        }
    };
    get("h", 1)?;
    get("y", 0)?;
    let (w, x) = (get("w", 1)?, get("x", 0)?);
    if x + w > GRID_COLUMNS {
        return Err(DashboardError::invalid(
            format!("{path}.w"),
            format!("x + w is {}, past the grid's {GRID_COLUMNS} columns", x + w),
        ));
    }
    Ok(())
}

fn check_templating(templating: &Value) -> Result<(), DashboardError> {
    let t = object(templating, "templating")?;
    let Some(list) = t.get("list") else {
        return Ok(());
    };
    for (i, var) in array(list, "templating.list")?.iter().enumerate() {
        let path = format!("templating.list[{i}]");
        let v = object(var, &path)?;
        match v.get("name") {
            Some(Value::String(n)) if !n.is_empty() => {}
            Some(other @ Value::String(_)) | Some(other) => {
                return Err(wrong_type(&format!("{path}.name"), "a non-empty string", other));
            }
            None => {
                return Err(DashboardError::invalid(
                    format!("{path}.name"),
                    "a variable needs a name",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> String {
        parse_dashboard(json.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn the_guides_wrapped_sample_imports() {
        let d = parse_dashboard(
            br#"{"dashboard": {"id": null, "uid": "lms-api-performance", "title": "LMS API Performance",
                "tags": ["lms", "api"], "panels": [{"title": "Request Rate", "type": "timeseries",
                "targets": [{"expr": "sum(rate(http_requests_total[5m])) by (endpoint)", "legendFormat": "{{endpoint}}"}]}]}}"#,
        )
        .unwrap();
        assert_eq!(d.uid, "lms-api-performance");
        assert_eq!(d.tags, vec!["lms", "api"]);
        assert_eq!(d.model["panels"][0]["type"], "timeseries");
        assert!(d.model["id"].is_null());
    }

    #[test]
    fn a_missing_uid_comes_from_the_title() {
        let d = parse_dashboard(br#"{"title": "  Courses & Quizzes (2026)! "}"#).unwrap();
        assert_eq!(d.uid, "courses-quizzes-2026");
        assert_eq!(d.model["uid"], "courses-quizzes-2026");
        assert_eq!(slug("!!!"), "dashboard");
        assert_eq!(slug(&"x".repeat(80)).len(), 40);
    }

    #[test]
    fn refusals_name_the_field() {
        assert!(err("{").contains("line 1, column 1"));
        assert!(err("[]").contains("(top level)"));
        assert!(err(r#"{"panels": []}"#).contains("title: a dashboard needs a title"));
        assert!(err(r#"{"title": "t", "uid": "a b"}"#).contains("uid: \"a b\" may hold only"));
        assert!(err(r#"{"title": "t", "panels": {}}"#).contains("panels: must be an array, not an object"));
        assert!(
            err(r#"{"title": "t", "panels": [{"type": "stat"}, {"title": "x"}]}"#).contains("panels[1].type")
        );
        assert!(
            err(r#"{"title": "t", "panels": [{"type": "stat", "gridPos": {"h": 8, "w": 20, "x": 8, "y": 0}}]}"#)
                .contains("panels[0].gridPos.w: x + w is 28")
        );
        assert!(
            err(
                r#"{"title": "t", "panels": [{"type": "stat", "gridPos": {"h": 0, "w": 2, "x": 0, "y": 0}}]}"#
            )
            .contains("panels[0].gridPos.h: must be a whole number of at least 1")
        );
        assert!(
            err(r#"{"title": "t", "panels": [{"type": "row", "panels": [{"type": "stat", "targets": [{"expr": 5}]}]}]}"#)
                .contains("panels[0].panels[0].targets[0].expr: must be a string, not a number")
        );
        assert!(
            err(r#"{"title": "t", "templating": {"list": [{"type": "query"}]}}"#)
                .contains("templating.list[0].name")
        );
        assert!(err(r#"{"title": "t", "tags": ["a", 1]}"#).contains("tags[1]"));
        assert!(err(r#"{"title": "t", "time": {"from": 5}}"#).contains("time.from"));
        assert!(err(r#"{"title": "t", "rows": [{"panels": [{}]}]}"#).contains("rows[0].panels[0].type"));
    }

    #[test]
    fn unknown_fields_and_panel_types_are_kept() {
        let json = r#"{"title": "t", "custom": {"a": 1}, "panels": [{"type": "piechart", "weird": true}]}"#;
        let d = parse_dashboard(json.as_bytes()).unwrap();
        assert_eq!(d.model["custom"]["a"], 1);
        assert_eq!(d.model["panels"][0]["type"], "piechart");
    }

    #[test]
    fn oversized_documents_are_refused_before_parsing() {
        let big = vec![b' '; MAX_DASHBOARD_BYTES + 1];
        assert!(matches!(
            parse_dashboard(&big),
            Err(DashboardError::TooLarge { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = parse_dashboard(&bytes);
        }

        #[test]
        fn arbitrary_titles_give_valid_uids(title in "\\PC{1,80}") {
            let s = slug(&title);
            proptest::prop_assert!(check_uid(&s).is_ok(), "{s:?}");
        }
    }
}
