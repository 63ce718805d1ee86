//! `/status`: the build, the configuration in effect (every secret shown
//! as `<secret>`, as `/api/v1/status/config` shows it), the last reload,
//! storage figures and cardinality — the top metrics and labels by series.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::web::state::AppState;

use super::frame::{Frame, Section};
use super::render::render;

const TOP: usize = 10;

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    frame: Frame,
    section: Section,
    title: &'static str,
    version: &'static str,
    revision: &'static str,
    started_ms: i64,
    reload_ok: bool,
    reload_ms: i64,
    listen: String,
    series: u64,
    label_pairs: u64,
    chunks: u64,
    oldest_ms: Option<i64>,
    by_metric: Vec<(String, u64, u32)>,
    by_label: Vec<(String, u64, u32)>,
    config_yaml: Result<String, String>,
    flags: Vec<(String, String)>,
}

/// Each entry with its share of the largest, in percent, for the bars.
fn with_share(list: Vec<(String, u64)>) -> Vec<(String, u64, u32)> {
    let max = list.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    list.into_iter()
        .map(|(name, n)| {
            let share = (n.saturating_mul(100) / max) as u32;
            (name, n, share)
        })
        .collect()
}

/// `GET /status`.
pub async fn page(State(state): State<Arc<AppState>>, frame: Frame) -> Response {
    let storage = state.storage.clone();
    let stats = tokio::task::spawn_blocking(move || storage.stats(TOP))
        .await
        .unwrap_or_default();
    let info = &state.status;
    let reload = info.reload();
    let config_yaml = serde_norway::to_string(info.config().as_ref())
        .map_err(|e| format!("the configuration cannot be shown: {e}"));
    render(&StatusPage {
        frame,
        section: Section::Status,
        title: "Status",
        version: env!("CARGO_PKG_VERSION"),
        revision: option_env!("BELFRY_GIT_REVISION").unwrap_or("unknown"),
        started_ms: super::times::system_ms(info.start_time),
        reload_ok: reload.success,
        reload_ms: super::times::system_ms(reload.last_config_time),
        listen: info.listen.to_string(),
        series: stats.num_series,
        label_pairs: stats.num_label_pairs,
        chunks: stats.chunk_count,
        oldest_ms: (stats.num_series > 0 && stats.min_time > 0).then_some(stats.min_time),
        by_metric: with_share(stats.series_count_by_metric_name),
        by_label: with_share(stats.label_value_count_by_label_name),
        config_yaml,
        flags: info.flags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_relative_to_the_largest() {
        let out = with_share(vec![("a".into(), 200), ("b".into(), 50), ("c".into(), 0)]);
        assert_eq!(out.iter().map(|e| e.2).collect::<Vec<_>>(), vec![100, 25, 0]);
        assert!(with_share(vec![]).is_empty());
    }
}
