//! `/targets`: every scrape target by job, with its health, last scrape,
//! duration and error; `?health=down` narrows to the failing ones.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::scrape::{Health, TargetStatus};
use crate::web::params::Params;
use crate::web::state::AppState;

use super::frame::{Frame, Section};
use super::render::render;
use super::times;

pub struct TargetRow {
    pub url: String,
    pub health: &'static str,
    pub labels: Vec<(String, String)>,
    pub last_scrape_ms: Option<i64>,
    pub duration: String,
    pub interval: String,
    pub error: String,
}

pub struct Job {
    pub name: String,
    pub up: usize,
    pub targets: Vec<TargetRow>,
}

#[derive(Template)]
#[template(path = "targets.html")]
struct TargetsPage {
    frame: Frame,
    section: Section,
    title: &'static str,
    jobs: Vec<Job>,
    only_down: bool,
    total: usize,
    down: usize,
}

fn health_word(h: Health) -> &'static str {
    match h {
        Health::Up => "up",
        Health::Down => "down",
        Health::Unknown => "unknown",
    }
}

/// A scrape's duration as people read it: "12 ms", "1.4 s".
fn duration_text(secs: f64) -> String {
    if secs <= 0.0 {
        String::new()
    } else if secs < 1.0 {
        format!("{:.0} ms", secs * 1000.0)
    } else {
        format!("{secs:.1} s")
    }
}

/// `GET /targets`.
pub async fn page(State(state): State<Arc<AppState>>, frame: Frame, params: Params) -> Response {
    let only_down = params.get("health") == Some("down");
    let mut jobs: Vec<Job> = Vec::new();
    let (mut total, mut down) = (0, 0);
    for t in state.scrape.targets() {
        let TargetStatus::Active(t) = t else { continue };
        total += 1;
        if t.health == Health::Down {
            down += 1;
        }
        if only_down && t.health != Health::Down {
            continue;
        }
        let row = TargetRow {
            url: t.scrape_url.clone(),
            health: health_word(t.health),
            labels: t
                .labels
                .iter()
                .filter(|(k, _)| k.as_str() != "job")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            last_scrape_ms: times::rfc3339_ms(&t.last_scrape),
            duration: duration_text(t.last_scrape_duration),
            interval: t.scrape_interval.clone(),
            error: t.last_error.clone(),
        };
        let up = usize::from(t.health == Health::Up);
        match jobs.iter_mut().find(|j| j.name == t.scrape_pool) {
            Some(job) => {
                job.up += up;
                job.targets.push(row);
            }
            None => jobs.push(Job {
                name: t.scrape_pool.clone(),
                up,
                targets: vec![row],
            }),
        }
    }
    jobs.sort_by(|a, b| a.name.cmp(&b.name));
    for job in &mut jobs {
        job.targets.sort_by(|a, b| a.url.cmp(&b.url));
    }
    render(&TargetsPage {
        frame,
        section: Section::Targets,
        title: "Targets",
        jobs,
        only_down,
        total,
        down,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration_text(0.0), "");
        assert_eq!(duration_text(0.0123), "12 ms");
        assert_eq!(duration_text(1.44), "1.4 s");
    }
}
