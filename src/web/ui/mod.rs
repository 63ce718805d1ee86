//! The web UI for staff: server-rendered pages (askama templates under
//! `web/templates/`) that are useful before any script runs, and the
//! embedded static files (`web/static/`) that add charts and live updates.
//! Handlers here only gather what a page shows from the layers below;
//! who may open a page is `access/route_table.rs`, like every route.

pub mod admin;
pub mod alerts;
pub mod assets;
pub mod dashboards;
pub mod error_issue;
pub mod errors;
pub mod explore;
mod frame;
mod log_view;
pub mod logs;
pub mod overview;
mod page_headers;
mod render;
pub mod reports;
pub mod runbooks;
pub mod silences;
pub mod status;
pub mod targets;
mod times;

pub use page_headers::page_headers;
pub use render::render_with;
