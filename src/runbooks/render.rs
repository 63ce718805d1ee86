//! Markdown to HTML for the runbook page, with CommonMark's tables,
//! strikethrough and task lists. The page runs under a Content-Security-
//! Policy without inline script or style, and an admin's text is shown to
//! every reader, so nothing in the text may become markup of its own: raw
//! HTML (blocks and inline) is shown as text, links keep only http(s),
//! mailto and same-site targets, and images become links (the policy
//! would block a foreign image anyway).

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd, html};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Whether a link target is one a reader may be sent to: a path, query or
/// fragment of this site, or an http, https or mailto URL. `javascript:`,
/// `data:` and the like are dropped with their link, keeping its text.
fn safe_url(url: &str) -> bool {
    let url = url.trim();
    let scheme_end = url.find(':');
    let path_start = url.find(['/', '?', '#']);
    match (scheme_end, path_start) {
        // No scheme: a relative URL. Protocol-relative `//host` leaves the site
        // in whatever scheme the page has, which is still http(s).
        (None, _) => true,
        (Some(c), Some(p)) if p < c => true,
        (Some(c), _) => {
            let scheme = url[..c].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto")
        }
    }
}

/// The runbook's HTML. Safe to insert into a page unescaped.
pub fn render_markdown(markdown: &str) -> String {
    // One entry per open link: whether it was kept.
    let mut links: Vec<bool> = Vec::new();
    let events = Parser::new_ext(markdown, options()).filter_map(|event| match event {
        Event::Html(text) | Event::InlineHtml(text) => Some(Event::Text(text)),
        // A raw HTML block reads as code: it stays visible, as written.
        Event::Start(Tag::HtmlBlock) => Some(Event::Start(Tag::CodeBlock(CodeBlockKind::Indented))),
        Event::End(TagEnd::HtmlBlock) => Some(Event::End(TagEnd::CodeBlock)),
        Event::Start(
            Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }
            | Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            },
        ) => {
            let keep = safe_url(&dest_url);
            links.push(keep);
            keep.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::End(TagEnd::Link | TagEnd::Image) => {
            links.pop().unwrap_or(false).then_some(Event::End(TagEnd::Link))
        }
        other => Some(other),
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// The first paragraph's text, whitespace collapsed, cut at 200
/// characters: what the list shows beside the alert's name.
pub fn summary_of(markdown: &str) -> String {
    let mut text = String::new();
    let mut in_paragraph = false;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::Paragraph) => in_paragraph = true,
            Event::End(TagEnd::Paragraph) if in_paragraph => break,
            Event::Text(t) | Event::Code(t) if in_paragraph => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak if in_paragraph => text.push(' '),
            _ => {}
        }
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > 200 {
        let cut: String = collapsed.chars().take(199).collect();
        format!("{}…", cut.trim_end())
    } else {
        collapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders() {
        let html = render_markdown(
            "## What it means\n\nThe **API** is down. See [the dashboard](/d/lms-api-performance).\n\n\
             | a | b |\n|---|---|\n| 1 | 2 |\n\n```\nup{job=\"lms-api\"}\n```\n",
        );
        assert!(html.contains("<h2>What it means</h2>"), "{html}");
        assert!(html.contains("<strong>API</strong>"), "{html}");
        assert!(
            html.contains(r#"<a href="/d/lms-api-performance">the dashboard</a>"#),
            "{html}"
        );
        assert!(html.contains("<table>"), "{html}");
        // Quotes need no escaping in text; angle brackets do.
        assert!(
            html.contains("<pre><code>up{job=\"lms-api\"}\n</code></pre>"),
            "{html}"
        );
    }

    #[test]
    fn raw_html_is_escaped_not_passed_through() {
        let html = render_markdown(
            "<script>alert(1)</script>\n\nText with <img src=x onerror=alert(2)> inline \
             and <b onclick=\"x()\">bold</b>.\n\n<div style=\"color:red\">\nblock\n</div>\n",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b "), "{html}");
        assert!(!html.contains("<div"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"), "{html}");
        assert!(
            html.contains("<pre><code>&lt;div style=\"color:red\"&gt;"),
            "{html}"
        );
    }

    #[test]
    fn unsafe_link_targets_are_dropped_keeping_the_text() {
        let html = render_markdown(
            "[a](javascript:alert(1)) [b](JavaScript:x) [c](data:text/html,x) \
             [d](https://wiki.example.org/x) [e](mailto:ops@example.org) [f](/explore?x=1) [g](#top) \
             [h](x/y:z)\n\n![pic](javascript:x) ![ok](/static/x.png)\n",
        );
        assert!(!html.to_lowercase().contains("javascript"), "{html}");
        assert!(!html.contains("data:"), "{html}");
        for kept in [
            r#"<a href="https://wiki.example.org/x">d</a>"#,
            r#"<a href="mailto:ops@example.org">e</a>"#,
            r#"<a href="/explore?x=1">f</a>"#,
            r##"<a href="#top">g</a>"##,
            r#"<a href="x/y:z">h</a>"#,
            r#"<a href="/static/x.png">ok</a>"#,
        ] {
            assert!(html.contains(kept), "{kept} missing in {html}");
        }
        assert!(html.contains(" a ") || html.contains(">a "), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("pic"), "{html}");
    }

    #[test]
    fn summary_is_the_first_paragraph() {
        let md =
            "# LMSAPIDown\n\nBelfry cannot scrape the\nLMS API's `/metrics`.\n\n## What it means\n\nMore.\n";
        assert_eq!(summary_of(md), "Belfry cannot scrape the LMS API's /metrics.");
        let long = format!("# X\n\n{}\n", "word ".repeat(100));
        let s = summary_of(&long);
        assert_eq!(s.chars().count(), 200);
        assert!(s.ends_with('…'));
        assert_eq!(summary_of("# Only a title\n"), "");
    }
}
