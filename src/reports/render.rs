//! A report as HTML and as plain text. The HTML body is one fragment
//! (`web/templates/report_body.html`) that the mail wraps in a document
//! with `web/static/css/report.css` in a `<style>` element, and the
//! preview page shows inside its frame with the same file as a
//! stylesheet, so the page is the mail. The text is the mail's plain
//! alternative, with the same figures, tables and failures.

use askama::Template;
use chrono::TimeZone;

use super::model::{Block, Report, Table};

/// The report's stylesheet, also served at `/static/css/report.css`.
pub const REPORT_CSS: &str = include_str!("../../web/static/css/report.css");

#[derive(Template)]
#[template(path = "report_body.html")]
struct Body<'a> {
    r: &'a Report,
    period: String,
    generated: String,
}

/// `2026-03-10 07:30 UTC`.
pub fn utc_time(ms: i64) -> String {
    chrono::Utc
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// `2026-03-10`.
pub fn utc_day(ms: i64) -> String {
    chrono::Utc
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The period in the report's time zone: `2026-03-09 07:00 to 2026-03-10 07:00 Europe/Berlin`
/// (ASCII: it is also the mail's subject).
pub fn period_text(r: &Report) -> String {
    let tz = crate::config::parse_timezone(&r.timezone).unwrap_or(chrono_tz::UTC);
    let at = |ms: i64| {
        tz.timestamp_millis_opt(ms)
            .single()
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    format!(
        "{} to {} {}",
        at(r.period.start_ms),
        at(r.period.end_ms),
        tz.name()
    )
}

/// The HTML fragment the page and the mail share.
pub fn html_body(r: &Report) -> String {
    Body {
        r,
        period: period_text(r),
        generated: utc_time(r.generated_ms),
    }
    .render()
    .unwrap_or_else(|e| format!("<p>the report cannot be rendered: {e}</p>"))
}

/// The mail's HTML: a whole document around the fragment.
pub fn html_mail(r: &Report) -> String {
    let title = escape(&format!("{} · Belfry", r.title));
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n<style>\n{REPORT_CSS}</style>\n</head>\n<body class=\"report-mail\">\n{}\n</body>\n</html>\n",
        html_body(r)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The subject: the title, the period's end day, and what failed.
pub fn subject(r: &Report) -> String {
    let failed = r.failed_sections().len();
    let mut s = format!("[Belfry] {} for {}", r.title, period_text(r));
    if failed > 0 {
        s.push_str(&format!(
            " ({failed} section{} failed)",
            if failed == 1 { "" } else { "s" }
        ));
    }
    s
}

/// The plain-text alternative.
pub fn text(r: &Report) -> String {
    let mut out = format!("{}\n{}\n", r.title, period_text(r));
    if !r.url.is_empty() {
        out.push_str(&format!("On the web: {}\n", r.url));
    }
    for s in &r.sections {
        out.push_str(&format!("\n== {} ==\n", s.title));
        for b in &s.blocks {
            match b {
                Block::Figures(f) => {
                    let parts: Vec<String> = f.iter().map(|f| format!("{}: {}", f.label, f.value)).collect();
                    out.push_str(&parts.join(" · "));
                    out.push('\n');
                }
                Block::Table(t) => text_table(&mut out, t),
                Block::Note(n) => {
                    out.push_str(n);
                    out.push('\n');
                }
                Block::NoData { what, hint } => out.push_str(&format!("NO DATA: {what} — {hint}\n")),
                Block::Failed { what, error } => {
                    out.push_str(&format!("FAILED: {what} could not be read: {error}\n"))
                }
            }
        }
    }
    out.push_str(&format!("\nGenerated {} by Belfry.\n", utc_time(r.generated_ms)));
    out
}

fn text_table(out: &mut String, t: &Table) {
    out.push_str(&format!("\n{}\n", t.caption));
    let mut widths: Vec<usize> = t.columns.iter().map(|c| c.chars().count()).collect();
    for row in &t.rows {
        for (i, c) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.text.chars().count().min(60));
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| {
                let c: String = c.chars().take(60).collect();
                format!("{c:<w$}")
            })
            .collect();
        format!("  {}\n", parts.join("  ").trim_end())
    };
    out.push_str(&line(t.columns.iter().map(String::as_str).collect()));
    for row in &t.rows {
        out.push_str(&line(row.iter().map(|c| c.text.as_str()).collect()));
    }
    if t.more > 0 {
        out.push_str(&format!("  … and {} more\n", t.more));
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{Cell, Figure, Period, Section};
    use super::*;

    fn report() -> Report {
        let mut alerts = Section::new("alerts", "Alerts");
        alerts.push(Block::Figures(vec![Figure::new("Alerts fired", "2")]));
        alerts.push(Block::table(
            "Alerts by name",
            &["Alert", "Fired"],
            vec![vec![
                Cell::text("<b>Down</b>").link("http://b/alerts?q=Down"),
                Cell::number("2"),
            ]],
            10,
        ));
        let mut cap = Section::new("disk", "Disk");
        cap.push(Block::no_data(
            "disk",
            "no data now from node_filesystem_avail_bytes",
        ));
        let mut bad = Section::new("logs", "Top log errors");
        bad.push(Block::failed("error lines by service", "max_lines_read exceeded"));
        Report {
            name: "daily".into(),
            title: "Daily summary".into(),
            period: Period {
                start_ms: 1_773_100_800_000,
                end_ms: 1_773_187_200_000,
            },
            timezone: "UTC".into(),
            generated_ms: 1_773_187_200_000,
            url: "http://belfry.example/reports/daily".into(),
            sections: vec![alerts, cap, bad],
        }
    }

    #[test]
    fn html_escapes_and_marks_failures() {
        let r = report();
        let html = html_mail(&r);
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(html.contains("<style>"), "{html}");
        assert!(html.contains("&#60;b&#62;Down&#60;/b&#62;"), "{html}");
        assert!(!html.contains("<b>Down</b>"), "{html}");
        assert!(html.contains("No data"), "{html}");
        assert!(html.contains("Failed"), "{html}");
        assert!(html.contains("max_lines_read exceeded"), "{html}");
        assert!(
            html.contains("2026-03-10 00:00 to 2026-03-11 00:00 UTC"),
            "{html}"
        );
        assert!(html.contains("http://belfry.example/reports/daily"), "{html}");
    }

    #[test]
    fn text_has_the_same_content() {
        let t = text(&report());
        assert!(t.contains("== Alerts =="), "{t}");
        assert!(t.contains("Alerts fired: 2"), "{t}");
        assert!(t.contains("<b>Down</b>"), "{t}");
        assert!(t.contains("NO DATA: disk"), "{t}");
        assert!(
            t.contains("FAILED: error lines by service could not be read: max_lines_read exceeded"),
            "{t}"
        );
        let s = subject(&report());
        assert!(
            s.contains("Daily summary") && s.contains("(1 section failed)"),
            "{s}"
        );
    }
}
