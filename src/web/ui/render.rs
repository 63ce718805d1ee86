//! Turning a page's template into an answer: a template that fails to
//! render (a bug, never the user's input) is a 500 with a plain message,
//! never half a page.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::frame::{Frame, Section};

pub fn render(page: &impl Template) -> Response {
    render_with(StatusCode::OK, page)
}

pub fn render_with(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be drawn; see the server log",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    frame: Frame,
    section: Section,
    title: &'static str,
    message: String,
    /// Where to go instead: a list's address and its name.
    back: (&'static str, &'static str),
}

/// A 404 page in the frame, saying what was not found.
pub fn not_found(frame: Frame, section: Section, message: String) -> Response {
    not_found_with(frame, section, message, ("/dashboards", "All dashboards"))
}

/// A 404 page linking the list the missing thing would be in.
pub fn not_found_with(
    frame: Frame,
    section: Section,
    message: String,
    back: (&'static str, &'static str),
) -> Response {
    render_with(
        StatusCode::NOT_FOUND,
        &NotFoundPage {
            frame,
            section,
            title: "Not found",
            message,
            back,
        },
    )
}
