//! `/logs`: log search for people. Two modes from the URL — words and
//! exact filters (`q`, `service`, `level`, `request_id`, `user`, `path`,
//! `status`) through the logs store's search, or a LogQL log query
//! (`logql`) through the LogQL engine — drawn server-side as the filter
//! form, a per-level volume histogram and the newest lines, each
//! expanding into its fields. `logs.js` adds paging, the lines around a
//! line, a request's errors, live tail and in-place refreshes, through
//! the same APIs (`/api/belfry/logs/search`, `/loki/api/v1/query_range`).

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::logql::{Direction, QueryData, RangeParams};
use crate::logs::Level;
use crate::logs::index::{Filter, SearchQuery};
use crate::web::access::percent_encode;
use crate::web::api::logs_search;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::frame::{Frame, Section};
use super::log_view::{Histogram, LineView, histogram_of_matrix, histogram_of_search};
use super::render::render;

/// Lines on the first page and each "older lines" page.
pub const PAGE_LINES: usize = 100;
/// Bars of the volume histogram.
pub const BUCKETS: usize = 60;
/// The parameters that filter a word search, as the URL names them.
const FILTER_PARAMS: [&str; 6] = ["level", "service", "request_id", "user", "path", "status"];

/// One level's checkbox in the filter form.
pub struct LevelChoice {
    pub level: &'static str,
    pub checked: bool,
}

/// A filter of the URL the form has no control for (`user`, `path`,
/// `status`): kept as a hidden input, shown with a link that drops it.
pub struct ExtraFilter {
    pub name: &'static str,
    pub value: String,
    pub without: String,
}

/// What the page searched for, as the URL said it.
#[derive(Debug, Default)]
pub struct LogsRequest {
    pub q: String,
    pub logql: String,
    pub service: String,
    pub levels: Vec<String>,
    pub request_id: String,
    pub user: String,
    pub path: String,
    pub status: String,
    pub offset: usize,
}

impl LogsRequest {
    pub fn from_params(params: &Params) -> LogsRequest {
        let one = |k: &str| params.get(k).map(str::trim).unwrap_or_default().to_string();
        LogsRequest {
            q: one("q"),
            logql: one("logql"),
            service: one("service"),
            // `level=error,critical` (links) or `level=error&level=critical` (the form).
            levels: params
                .all("level")
                .flat_map(|v| v.split(','))
                .map(|l| l.trim().to_ascii_lowercase())
                .filter(|l| !l.is_empty())
                .collect(),
            request_id: one("request_id"),
            user: one("user"),
            path: one("path"),
            status: one("status"),
            offset: params.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0),
        }
    }

    pub fn is_logql(&self) -> bool {
        !self.logql.is_empty()
    }

    /// The search's filters; a bad one (an unknown level, a status that
    /// is not a number) is the search's error, as the API words it.
    pub fn filters(&self) -> Result<Vec<Filter>, String> {
        let levels = self.levels.join(",");
        let values = [
            levels.as_str(),
            &self.service,
            &self.request_id,
            &self.user,
            &self.path,
            &self.status,
        ];
        FILTER_PARAMS
            .iter()
            .zip(values)
            .filter(|(_, v)| !v.is_empty())
            .map(|(name, v)| logs_search::filter(name, v).map_err(|e| e.to_string()))
            .collect()
    }

    /// The query string of this search with `name` left out, for the
    /// links that drop one filter.
    fn without(&self, name: &str, frame: &Frame) -> String {
        let levels = self.levels.join(",");
        let pairs = [
            ("q", self.q.as_str()),
            ("service", &self.service),
            ("level", &levels),
            ("request_id", &self.request_id),
            ("user", &self.user),
            ("path", &self.path),
            ("status", &self.status),
        ];
        let mut link = format!("/logs?{}", frame.range_query());
        for (k, v) in pairs {
            if k != name && !v.is_empty() {
                link.push_str(&format!("&{k}={}", percent_encode(v)));
            }
        }
        link
    }
}

/// The lines and histogram of one search, or why there are none.
pub struct Found {
    pub lines: Vec<LineView>,
    /// Every matching line (word search); `None` where LogQL does not count.
    pub total: Option<u64>,
    pub histogram: Option<Histogram>,
    /// The offset of the next page of a word search, when there is one.
    pub next_offset: Option<usize>,
    /// The time (ns) of the oldest line of a LogQL page, the next page's end.
    pub older_than_ns: Option<i64>,
    pub warnings: Vec<String>,
}

#[derive(Template)]
#[template(path = "logs.html")]
struct LogsPage {
    frame: Frame,
    section: Section,
    title: &'static str,
    req: LogsRequest,
    levels: Vec<LevelChoice>,
    services: Vec<String>,
    extra: Vec<ExtraFilter>,
    /// `None`: the logs store is not running.
    found: Option<Result<Found, String>>,
    errors_enabled: bool,
    older_link: String,
}

/// `GET /logs`.
pub async fn page(State(state): State<Arc<AppState>>, frame: Frame, params: Params) -> Response {
    let req = LogsRequest::from_params(&params);
    let levels = Level::ALL
        .iter()
        .rev()
        .map(|l| LevelChoice {
            level: l.as_str(),
            checked: req.levels.iter().any(|x| x == l.as_str()),
        })
        .collect();
    let (services, found) = match state.logs.clone() {
        None => (Vec::new(), None),
        Some(store) => {
            let found = async {
                if req.is_logql() {
                    logql(&state, &req.logql, frame.start_ms, frame.end_ms).await
                } else {
                    search(&state, &req, frame.start_ms, frame.end_ms).await
                }
            };
            // The service choices and the search read the index side by side.
            let (services, found) = tokio::join!(services(&store, &frame, &req.service), found);
            (services, Some(found))
        }
    };
    let extra = [("user", &req.user), ("path", &req.path), ("status", &req.status)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(name, v)| ExtraFilter {
            name,
            value: v.clone(),
            without: req.without(name, &frame),
        })
        .collect();
    let older_link = older_link(&req, &frame, found.as_ref());
    render(&LogsPage {
        title: "Logs",
        section: Section::Logs,
        levels,
        services,
        extra,
        found,
        errors_enabled: state.errors.is_some(),
        older_link,
        req,
        frame,
    })
}

/// The no-script link to the next page: the next offset of a word
/// search, or a LogQL range ending at the oldest line shown.
fn older_link(req: &LogsRequest, frame: &Frame, found: Option<&Result<Found, String>>) -> String {
    let Some(Ok(found)) = found else {
        return String::new();
    };
    if let Some(offset) = found.next_offset {
        return format!("{}&offset={offset}", req.without("", frame));
    }
    if let Some(ns) = found.older_than_ns {
        return format!(
            "/logs?from={}&to={}&logql={}",
            percent_encode(&frame.from),
            ns.div_euclid(1_000_000),
            percent_encode(&req.logql)
        );
    }
    String::new()
}

/// The services with lines in the range, for the filter's choices; the
/// URL's own choice stays among them even without lines.
async fn services(store: &Arc<crate::logs::LogStore>, frame: &Frame, chosen: &str) -> Vec<String> {
    let store = store.clone();
    let (start, end) = (
        frame.start_ms.saturating_mul(1_000_000),
        frame.end_ms.saturating_mul(1_000_000),
    );
    let found = tokio::task::spawn_blocking(move || {
        crate::logql::metadata::label_values(store.days(), "service", start, end)
    })
    .await;
    let mut names = match found {
        Ok(Ok(names)) => names,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the logs page could not list services");
            Vec::new()
        }
        Err(e) => {
            tracing::warn!(error = %e, "the logs page's service listing stopped");
            Vec::new()
        }
    };
    if !chosen.is_empty() && !names.iter().any(|n| n == chosen) {
        names.push(chosen.to_string());
        names.sort();
    }
    names
}

async fn search(state: &AppState, req: &LogsRequest, start_ms: i64, end_ms: i64) -> Result<Found, String> {
    let store = state.logs.clone().ok_or("the logs store is not running")?;
    let query = SearchQuery {
        text: req.q.clone(),
        start_ns: start_ms.saturating_mul(1_000_000),
        end_ns: end_ms.saturating_mul(1_000_000).saturating_add(1),
        filters: req.filters()?,
        limit: PAGE_LINES,
        offset: req.offset,
        buckets: BUCKETS,
    };
    let reads = logs_search::read_budget(state);
    let result = tokio::task::spawn_blocking(move || store.search(&query, &reads))
        .await
        .map_err(|e| format!("the search stopped: {e}"))?
        .map_err(|e| e.to_string())?;
    let shown = req.offset + result.lines.len();
    Ok(Found {
        total: Some(result.total),
        histogram: Some(histogram_of_search(&result)),
        next_offset: (result.lines.len() == PAGE_LINES && (shown as u64) < result.total).then_some(shown),
        older_than_ns: None,
        lines: result.lines.into_iter().map(LineView::of_line).collect(),
        warnings: result.warnings,
    })
}

/// A LogQL log query's newest lines, and its volume by level from
/// `sum by (level) (count_over_time(…))` over the same range.
async fn logql(state: &AppState, expr: &str, start_ms: i64, end_ms: i64) -> Result<Found, String> {
    let engine = state.logql.clone().ok_or("the LogQL engine is not running")?;
    let start_ns = start_ms.saturating_mul(1_000_000);
    let end_ns = end_ms.saturating_mul(1_000_000).saturating_add(1);
    let step_ms = volume_step_ms(end_ms - start_ms, BUCKETS);
    let lines_query = expr.to_string();
    let volume_query = volume_query(expr, step_ms);
    let run = move || {
        let lines = engine.query_range(
            &lines_query,
            &RangeParams {
                start_ns,
                end_ns,
                step_ns: step_ms * 1_000_000,
                limit: PAGE_LINES,
                direction: Direction::Backward,
            },
        )?;
        // The volume is a second reading of the same lines; a refusal of it
        // (a limit on lines read) leaves the lines without a histogram.
        let volume = engine.query_range(
            &volume_query,
            &RangeParams {
                start_ns: start_ns + step_ms * 1_000_000,
                end_ns: end_ns + step_ms * 1_000_000,
                step_ns: step_ms * 1_000_000,
                limit: PAGE_LINES,
                direction: Direction::Backward,
            },
        );
        Ok::<_, crate::logql::LogqlError>((lines, volume))
    };
    let (lines, volume) = tokio::task::spawn_blocking(run)
        .await
        .map_err(|e| format!("the query stopped: {e}"))?
        .map_err(|e| e.to_string())?;
    let QueryData::Streams(streams) = lines.data else {
        return Err(
            "this is a metric query: the logs page shows log queries (a stream selector and its pipeline); graph metric queries in Explore".into(),
        );
    };
    let mut views: Vec<LineView> = streams
        .iter()
        .flat_map(|s| {
            s.entries
                .iter()
                .map(|(ts, line)| LineView::of_entry(&s.labels, *ts, line))
        })
        .collect();
    views.sort_by_key(|l| std::cmp::Reverse(l.ts_ns));
    views.truncate(PAGE_LINES);
    let mut warnings = lines.warnings;
    let histogram = match volume {
        Ok(out) => match out.data {
            QueryData::Matrix(series) => Some(histogram_of_matrix(&series, start_ms, step_ms, BUCKETS)),
            _ => None,
        },
        Err(e) => {
            warnings.push(format!("the volume histogram is missing: {e}"));
            None
        }
    };
    Ok(Found {
        older_than_ns: (views.len() == PAGE_LINES)
            .then(|| views.last().map(|l| l.ts_ns))
            .flatten(),
        lines: views,
        total: None,
        histogram,
        next_offset: None,
        warnings,
    })
}

/// A whole number of seconds that splits the range into at most `buckets`
/// bars which cover all of it.
pub fn volume_step_ms(range_ms: i64, buckets: usize) -> i64 {
    let buckets = buckets.max(1) as i64;
    let raw = (range_ms.max(1) + buckets - 1) / buckets;
    (raw.max(1000) + 999) / 1000 * 1000
}

/// The per-level count of a log query's lines per step.
pub fn volume_query(expr: &str, step_ms: i64) -> String {
    format!("sum by (level) (count_over_time({expr} [{}s]))", step_ms / 1000)
}

impl LogsPage {
    fn ok(&self) -> Option<&Found> {
        match &self.found {
            Some(Ok(f)) => Some(f),
            _ => None,
        }
    }

    fn histogram(&self) -> Option<&Histogram> {
        self.ok().and_then(|f| f.histogram.as_ref())
    }

    fn lines(&self) -> &[LineView] {
        self.ok().map(|f| f.lines.as_slice()).unwrap_or_default()
    }

    fn next_offset(&self) -> Option<usize> {
        self.ok().and_then(|f| f.next_offset)
    }

    fn older_than_ns(&self) -> Option<i64> {
        self.ok().and_then(|f| f.older_than_ns)
    }

    /// "1234 matching" (word search), "100 shown" (LogQL).
    fn count_text(&self) -> String {
        match self.ok() {
            Some(Found { total: Some(t), .. }) => format!("{t} matching"),
            Some(f) => format!("{} shown", f.lines.len()),
            None => String::new(),
        }
    }

    fn failed(&self) -> bool {
        matches!(self.found, Some(Err(_)))
    }

    /// Everything of one request in this range: its lines, and its error
    /// events above them.
    fn request_link(&self, request_id: &str) -> String {
        format!(
            "/logs?{}&request_id={}",
            self.frame.range_query(),
            percent_encode(request_id)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(pairs: &[(&str, &str)]) -> LogsRequest {
        LogsRequest::from_params(&Params::from_pairs(pairs))
    }

    #[test]
    fn levels_come_as_a_list_or_repeated() {
        let r = req(&[("level", "error,Critical"), ("level", "warning"), ("level", "")]);
        assert_eq!(r.levels, vec!["error", "critical", "warning"]);
        assert_eq!(
            r.filters().unwrap(),
            vec![Filter::Level(vec![Level::Error, Level::Critical, Level::Warning])]
        );
    }

    #[test]
    fn empty_form_fields_filter_nothing() {
        let r = req(&[
            ("q", " timeout "),
            ("service", ""),
            ("request_id", ""),
            ("status", ""),
        ]);
        assert_eq!(r.q, "timeout");
        assert!(r.filters().unwrap().is_empty());
    }

    #[test]
    fn filters_name_their_fields_and_bad_values_are_errors() {
        let r = req(&[("service", "api"), ("request_id", "r-1"), ("status", "502")]);
        assert_eq!(
            r.filters().unwrap(),
            vec![
                Filter::Service("api".into()),
                Filter::RequestId("r-1".into()),
                Filter::Status(502)
            ]
        );
        let e = req(&[("level", "loud")]).filters().unwrap_err();
        assert!(e.contains("unknown level"), "{e}");
        let e = req(&[("status", "teapot")]).filters().unwrap_err();
        assert!(e.contains("not an HTTP status code"), "{e}");
    }

    #[test]
    fn the_volume_step_is_whole_seconds_for_about_the_bars() {
        assert_eq!(volume_step_ms(3_600_000, 60), 60_000);
        assert_eq!(volume_step_ms(10_000, 60), 1000);
        assert_eq!(volume_step_ms(6 * 3_600_000 + 1, 60), 361_000);
        assert_eq!(
            volume_query(r#"{service="api"} |= "x""#, 60_000),
            r#"sum by (level) (count_over_time({service="api"} |= "x" [60s]))"#
        );
    }
}
