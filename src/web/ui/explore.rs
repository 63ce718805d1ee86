//! `/explore`: ad-hoc PromQL and LogQL queries, several per page, drawn as a
//! graph, a table or log lines by `web/static/js/explore/`. The whole view
//! lives in the URL (`?lang=promql&q=EXPR&q=EXPR2&legend=…&view=graph&step=…`
//! with the frame's `from`/`to`), so a copied link reopens it; this handler
//! puts the URL's queries into the editors, so they show before any script
//! runs, and the rest into `data-` attributes for the script.
//! [`link`] is how other pages (an alert's rule) open a query here.

use askama::Template;
use axum::response::Response;

use crate::model::PromDuration;
use crate::web::access::percent_encode;
use crate::web::params::Params;

use super::frame::{Frame, Section};
use super::render::render;

/// More editors than this on one page is a URL someone built by hand;
/// the rest are dropped rather than each running a query.
pub const MAX_QUERIES: usize = 10;

/// The page's query language: which APIs its editors complete from and
/// run against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    PromQL,
    LogQL,
}

impl Lang {
    /// The `lang` parameter's spelling.
    pub fn param(self) -> &'static str {
        match self {
            Lang::PromQL => "promql",
            Lang::LogQL => "logql",
        }
    }

    /// The `lang` parameter; PromQL when it is absent or unknown.
    fn from_param(text: Option<&str>) -> Lang {
        match text.map(str::trim) {
            Some(t) if t.eq_ignore_ascii_case("logql") || t.eq_ignore_ascii_case("loki") => Lang::LogQL,
            _ => Lang::PromQL,
        }
    }
}

/// How results are shown: a graph over the range, or a table of the
/// instant query at the range's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum View {
    Graph,
    Table,
}

impl View {
    fn param(self) -> &'static str {
        match self {
            View::Graph => "graph",
            View::Table => "table",
        }
    }
}

/// One editor: its letter (as Grafana names queries), expression and
/// legend format.
#[derive(Debug, PartialEq, Eq)]
pub struct QueryRow {
    pub letter: char,
    pub expr: String,
    pub legend: String,
}

/// What the URL asks the page to show.
#[derive(Debug, PartialEq, Eq)]
struct ExploreState {
    lang: Lang,
    rows: Vec<QueryRow>,
    view: View,
    /// The range step as given (`30s`, `1m`, seconds), or "" for one
    /// chosen from the graph's width.
    step: String,
}

fn letter(i: usize) -> char {
    char::from(b'A' + (i % 26) as u8)
}

/// A step the APIs take: a Prometheus duration or a number of seconds,
/// above zero. Anything else is dropped, so the page falls back to its
/// automatic step rather than running every query into the same error.
fn valid_step(text: &str) -> bool {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        return secs.is_finite() && secs > 0.0;
    }
    PromDuration::parse(t).is_ok_and(|d| !d.as_duration().is_zero())
}

fn state_from(params: &Params) -> ExploreState {
    let legends: Vec<&str> = params.all("legend").collect();
    let mut rows: Vec<QueryRow> = params
        .all("q")
        .take(MAX_QUERIES)
        .enumerate()
        .map(|(i, q)| QueryRow {
            letter: letter(i),
            expr: q.to_string(),
            legend: legends.get(i).map(|l| l.to_string()).unwrap_or_default(),
        })
        .collect();
    if rows.is_empty() {
        rows.push(QueryRow {
            letter: 'A',
            expr: String::new(),
            legend: String::new(),
        });
    }
    let step = params.get("step").unwrap_or_default().trim();
    ExploreState {
        lang: Lang::from_param(params.get("lang")),
        rows,
        view: match params.get("view") {
            Some("table") => View::Table,
            _ => View::Graph,
        },
        step: if valid_step(step) {
            step.to_string()
        } else {
            String::new()
        },
    }
}

#[derive(Template)]
#[template(path = "explore.html")]
struct ExplorePage {
    frame: Frame,
    section: Section,
    title: &'static str,
    lang: &'static str,
    view: &'static str,
    step: String,
    rows: Vec<QueryRow>,
    max_queries: usize,
}

/// `GET /explore`.
pub async fn page(frame: Frame, params: Params) -> Response {
    let state = state_from(&params);
    render(&ExplorePage {
        frame,
        section: Section::Explore,
        title: "Explore",
        lang: state.lang.param(),
        view: state.view.param(),
        step: state.step,
        rows: state.rows,
        max_queries: MAX_QUERIES,
    })
}

/// The Explore page running `exprs` over `from`..`to` (Grafana's range
/// words or epoch milliseconds), as a graph.
pub fn link(lang: Lang, exprs: &[&str], from: &str, to: &str) -> String {
    let mut out = format!("/explore?lang={}", lang.param());
    for e in exprs {
        out.push_str("&q=");
        out.push_str(&percent_encode(e));
    }
    out.push_str("&from=");
    out.push_str(&percent_encode(from));
    out.push_str("&to=");
    out.push_str(&percent_encode(to));
    out
}

/// Where the window around an alert starts: a quarter of an hour before
/// it became active, so the graph shows what led up to it.
pub fn window_start_ms(active_since_ms: i64) -> i64 {
    active_since_ms - 15 * 60_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(pairs: &[(&str, &str)]) -> ExploreState {
        state_from(&Params::from_pairs(pairs))
    }

    #[test]
    fn an_empty_url_gives_one_empty_promql_editor_as_a_graph() {
        let s = state(&[]);
        assert_eq!(s.lang, Lang::PromQL);
        assert_eq!(s.view, View::Graph);
        assert_eq!(s.step, "");
        assert_eq!(
            s.rows,
            vec![QueryRow {
                letter: 'A',
                expr: String::new(),
                legend: String::new()
            }]
        );
    }

    #[test]
    fn queries_keep_their_order_and_pair_with_legends_by_position() {
        let s = state(&[
            ("lang", "logql"),
            ("q", "sum(rate({service=\"api\"}[1m]))"),
            ("legend", "{{service}}"),
            ("q", "{service=\"api\"} |= \"error\""),
            ("view", "table"),
            ("step", "30s"),
        ]);
        assert_eq!(s.lang, Lang::LogQL);
        assert_eq!(s.view, View::Table);
        assert_eq!(s.step, "30s");
        assert_eq!(s.rows.len(), 2);
        assert_eq!(
            (s.rows[0].letter, s.rows[0].legend.as_str()),
            ('A', "{{service}}")
        );
        assert_eq!(s.rows[1].expr, "{service=\"api\"} |= \"error\"");
        assert_eq!((s.rows[1].letter, s.rows[1].legend.as_str()), ('B', ""));
    }

    #[test]
    fn unknown_values_fall_back_and_editors_are_capped() {
        let many: Vec<(&str, &str)> = std::iter::repeat_n(("q", "up"), MAX_QUERIES + 5).collect();
        let s = state(&many);
        assert_eq!(s.rows.len(), MAX_QUERIES);
        assert_eq!(s.rows[MAX_QUERIES - 1].letter, 'J');
        let s = state(&[("lang", "sql"), ("view", "pie"), ("step", "0s")]);
        assert_eq!((s.lang, s.view, s.step.as_str()), (Lang::PromQL, View::Graph, ""));
        for bad in ["-5", "soon", "NaN", "inf"] {
            assert_eq!(state(&[("step", bad)]).step, "", "{bad}");
        }
        assert_eq!(state(&[("step", "15")]).step, "15");
        assert_eq!(state(&[("lang", "Loki")]).lang, Lang::LogQL);
    }

    /// The page as a browser without scripts gets it for `uri`.
    async fn rendered(uri: &str) -> String {
        use axum::extract::FromRequest;
        let request = axum::http::Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        let (parts, body) = request.into_parts();
        let frame = Frame::from_parts(&parts);
        let request = axum::http::Request::from_parts(parts, body);
        let params = Params::from_request(request, &()).await.ok().unwrap();
        let response = page(frame, params).await;
        assert_eq!(response.status(), axum::http::StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn the_urls_queries_are_in_the_editors_before_any_script_runs() {
        let body = rendered(
            "/explore?lang=logql&view=table&q=%7Bservice%3D%22api%22%7D%20%7C%3D%20%22%3C%2Ftextarea%3E%22&legend=%7B%7Blevel%7D%7D&q=count_over_time(%7Ba%3D%22b%22%7D%5B1m%5D)&from=now-1h",
        )
        .await;
        assert!(
            body.contains("{service=&#34;api&#34;} |= &#34;&#60;/textarea&#62;&#34;</textarea>"),
            "{body}"
        );
        assert!(
            body.contains(">count_over_time({a=&#34;b&#34;}[1m])</textarea>"),
            "{body}"
        );
        assert!(body.contains("value=\"{{level}}\""), "{body}");
        assert!(body.contains("data-lang=\"logql\" data-view=\"table\""), "{body}");
        assert!(
            body.contains("id=\"lang-logql\" value=\"logql\" checked"),
            "{body}"
        );
        assert!(
            body.contains("id=\"view-table\" value=\"table\" checked"),
            "{body}"
        );
        assert!(body.contains("name=\"from\" value=\"now-1h\""), "{body}");
        // Only the first editor is the one `/` focuses.
        assert_eq!(body.matches("data-search").count(), 1, "{body}");
        assert!(!body.contains("Write a query above"), "{body}");
        let empty = rendered("/explore").await;
        assert!(empty.contains("Write a query above and run it."), "{empty}");
        assert!(
            empty.contains("id=\"lang-promql\" value=\"promql\" checked"),
            "{empty}"
        );
    }

    #[test]
    fn a_link_carries_the_queries_and_the_range_encoded() {
        let l = link(
            Lang::PromQL,
            &["rate(x{job=\"a b\"}[5m]) > 0.1 & 1", "up"],
            "1700000000000",
            "now",
        );
        assert_eq!(
            l,
            "/explore?lang=promql&q=rate%28x%7Bjob%3D%22a%20b%22%7D%5B5m%5D%29%20%3E%200.1%20%26%201&q=up&from=1700000000000&to=now"
        );
        let back: Vec<(String, String)> = form_urlencoded::parse(l.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(back[1].1, "rate(x{job=\"a b\"}[5m]) > 0.1 & 1");
        assert_eq!(window_start_ms(1_700_000_900_000), 1_700_000_000_000);
    }
}
