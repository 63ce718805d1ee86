//! `/silences`: every silence (active, then pending, then expired) with
//! its matchers, author, comment and times; an editor expires one, or
//! creates one from the form — which an alert's "Silence" link fills with
//! the alert's labels (`?m=alertname="X"&m=job="api"`). The changes go
//! through Alertmanager's API (`/api/v2/silences`), so they are audited
//! and checked exactly as amtool's are.

use std::sync::Arc;
use std::time::SystemTime;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::alerting::SilenceState;
use crate::auth::Permission;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::frame::{Frame, Section};
use super::render::render;

pub struct SilenceRow {
    pub id: String,
    pub state: &'static str,
    pub matchers: Vec<String>,
    pub created_by: String,
    pub comment: String,
    pub starts_ms: i64,
    pub ends_ms: i64,
}

#[derive(Template)]
#[template(path = "silences.html")]
struct SilencesPage {
    frame: Frame,
    section: Section,
    title: &'static str,
    silences: Vec<SilenceRow>,
    can_change: bool,
    /// The new silence's matchers, one per line, from `m` parameters.
    prefill: String,
    author: String,
}

/// Go's quoting of a matcher value, as Alertmanager prints matchers.
fn quoted(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| format!("\"{value}\""))
}

/// `GET /silences`.
pub async fn page(State(state): State<Arc<AppState>>, frame: Frame, params: Params) -> Response {
    let now = SystemTime::now();
    let mut list = state.alerting.silences().list();
    list.sort_by_key(|s| {
        let rank = match s.state(now) {
            SilenceState::Active => 0,
            SilenceState::Pending => 1,
            SilenceState::Expired => 2,
        };
        (rank, std::cmp::Reverse(s.ends_at))
    });
    let silences = list
        .into_iter()
        .map(|s| SilenceRow {
            state: s.state(now).as_str(),
            matchers: s
                .matchers
                .iter()
                .map(|m| {
                    let op = match (m.is_equal, m.is_regex) {
                        (true, false) => "=",
                        (false, false) => "!=",
                        (true, true) => "=~",
                        (false, true) => "!~",
                    };
                    format!("{}{op}{}", m.name, quoted(&m.value))
                })
                .collect(),
            id: s.id,
            created_by: s.created_by,
            comment: s.comment,
            starts_ms: super::times::system_ms(s.starts_at),
            ends_ms: super::times::system_ms(s.ends_at),
        })
        .collect();
    let can_change = frame.allows(Permission::Write);
    let author = frame
        .user
        .as_ref()
        .map(|(name, _)| name.clone())
        .unwrap_or_default();
    render(&SilencesPage {
        frame,
        section: Section::Silences,
        title: "Silences",
        silences,
        can_change,
        prefill: params.all("m").collect::<Vec<_>>().join("\n"),
        author,
    })
}

/// The "Silence" link of an alert: its labels as equality matchers.
pub fn silence_link<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut link = String::from("/silences?");
    for (i, (name, value)) in labels.enumerate() {
        if i > 0 {
            link.push('&');
        }
        link.push_str("m=");
        link.push_str(&crate::web::access::percent_encode(&format!(
            "{name}={}",
            quoted(value)
        )));
    }
    link.push_str("#new-silence");
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silence_link_carries_the_labels_as_matchers() {
        let link = silence_link([("alertname", "Down"), ("job", "a\"b")].into_iter());
        assert_eq!(
            link,
            "/silences?m=alertname%3D%22Down%22&m=job%3D%22a%5C%22b%22#new-silence"
        );
    }
}
