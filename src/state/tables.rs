//! The tables of `state.redb`. Every table maps a string key to bytes
//! (JSON documents unless a table says otherwise), so adding one is a name
//! here and nothing else.

use redb::TableDefinition;

/// Silences by id (JSON `alerting::silence::Silence`).
pub const SILENCES: &str = "silences";
/// Notification log entries by `group key / receiver / integration` (JSON).
pub const NFLOG: &str = "nflog";
/// Alerts known to the dispatcher, by fingerprint (JSON), so a restart
/// keeps alerts that are waiting for their first notification.
pub const ALERTS: &str = "alerts";

/// Read positions of tailed log files by `dev:inode` (JSON
/// `{"path", "offset"}`), written after the logs store acknowledged the
/// records before the offset.
pub const LOG_FILE_POSITIONS: &str = "log_file_positions";

/// Error issues by id (JSON `errors::Issue`).
pub const ERROR_ISSUES: &str = "error_issues";
/// Error events by `ISSUE/TIMESTAMP_MS/EVENT_ID` (ids and milliseconds
/// zero-padded to 20 digits, so keys sort by issue, then time): an issue's
/// events are one key range.
pub const ERROR_EVENTS: &str = "error_events";
/// The users an issue has affected, by `ISSUE/USER_TOKEN` (empty values).
pub const ERROR_ISSUE_USERS: &str = "error_issue_users";
/// Which events are stored, by `PROJECT/EVENT_ID` (the project
/// zero-padded to 20 digits; the value is the event's key in
/// `error_events`), so an SDK's retry of an event is stored once.
pub const ERROR_EVENT_IDS: &str = "error_event_ids";
/// The events by time, `TIMESTAMP_MS/ISSUE/EVENT_ID` (the value is the
/// event's request id, maybe empty): what retention deletes first.
pub const ERROR_EVENT_TIMES: &str = "error_event_times";
/// The events of a request, by `REQUEST_ID` newline `EVENT_KEY` (empty
/// values): the errors' side of the correlation with logs.
pub const ERROR_REQUEST_EVENTS: &str = "error_request_events";
/// Projects created by `belfry errors project add`, by id (JSON).
pub const ERROR_PROJECTS: &str = "error_projects";
/// Release-health session counts, by `PROJECT/HOUR/["RELEASE","ENV"]`
/// (JSON `errors::release_health` bucket).
pub const ERROR_RELEASE_SESSIONS: &str = "error_release_sessions";
/// User feedback attached to an issue, by `ISSUE/TIMESTAMP_MS/ID` (JSON).
pub const ERROR_FEEDBACK: &str = "error_feedback";
/// User feedback whose event is not stored (yet), by
/// `PROJECT/EVENT_ID/ID` (JSON).
pub const ERROR_FEEDBACK_PENDING: &str = "error_feedback_pending";
/// Event attachments' listing, by `PROJECT/EVENT_ID/NAME` (JSON).
pub const ERROR_ATTACHMENTS: &str = "error_attachments";
/// Event attachments' bytes, by the same key as `error_attachments`.
pub const ERROR_ATTACHMENT_DATA: &str = "error_attachment_data";
/// Cron monitors by `PROJECT/SLUG` (project zero-padded to 20 digits;
/// JSON `errors::Monitor`: configuration and state).
pub const ERROR_MONITORS: &str = "error_monitors";
/// Cron monitors' newest check-ins by `PROJECT/SLUG/SEQ` (zero-padded to
/// 20 digits; JSON `errors::CheckInRecord`).
pub const ERROR_MONITOR_CHECKINS: &str = "error_monitor_checkins";

/// Local users by name (JSON `auth::users` record: role, argon2id PHC
/// hash, created, failed logins, locked until).
pub const AUTH_USERS: &str = "auth_users";
/// API tokens by name (JSON: scopes, the SHA-256 of the secret in hex,
/// created, expires, last used); the secret itself is never stored.
pub const AUTH_TOKENS: &str = "auth_tokens";
/// The audit log by `MICROS/SEQ` (zero-padded; JSON `auth::AuditEntry`).
pub const AUTH_AUDIT: &str = "auth_audit";
/// Sessions of signed-in people by the SHA-256 of the cookie's secret in
/// hex (JSON: user, created, last seen); the secret itself is never
/// stored.
pub const AUTH_SESSIONS: &str = "auth_sessions";

/// Imported dashboards by uid (JSON: the Grafana model, when and by whom
/// it was last imported); the built-in ones are compiled in.
pub const DASHBOARDS: &str = "dashboards";

/// Runbooks written or edited by admins, by alert name (JSON:
/// `markdown`, `updated_by`, `updated_at` in Unix milliseconds); the
/// built-in ones are compiled in.
pub const RUNBOOKS: &str = "runbooks";

/// Every state change of the rules' alerts by `MILLIS/SEQ` (zero-padded;
/// JSON `rules::AlertTransition`), kept 90 days.
pub const ALERT_HISTORY: &str = "alert_history";

/// Alert flood mode while it is on, under key `current` (JSON
/// `alerting::FloodState`); absent while it is off.
pub const ALERT_FLOOD: &str = "alert_flood";

/// Each user's login history for the unusual-login checks, by the user's
/// token (JSON `logins::history::UserHistory`, versioned by its `v`).
pub const LOGIN_USERS: &str = "login_users";
/// When each SEV-3 report was last sent, by report name (JSON
/// `reports::ReportRun`: the last scheduled slot sent, the last send).
pub const REPORT_RUNS: &str = "report_runs";

/// Created on open when missing.
pub const ALL: &[&str] = &[
    SILENCES,
    NFLOG,
    ALERTS,
    LOG_FILE_POSITIONS,
    ERROR_ISSUES,
    ERROR_EVENTS,
    ERROR_ISSUE_USERS,
    ERROR_PROJECTS,
    ERROR_RELEASE_SESSIONS,
    ERROR_FEEDBACK,
    ERROR_FEEDBACK_PENDING,
    ERROR_ATTACHMENTS,
    ERROR_ATTACHMENT_DATA,
    ERROR_MONITORS,
    ERROR_MONITOR_CHECKINS,
    ERROR_EVENT_IDS,
    ERROR_EVENT_TIMES,
    ERROR_REQUEST_EVENTS,
    AUTH_USERS,
    AUTH_TOKENS,
    AUTH_AUDIT,
    AUTH_SESSIONS,
    DASHBOARDS,
    ALERT_HISTORY,
    RUNBOOKS,
    ALERT_FLOOD,
    LOGIN_USERS,
    REPORT_RUNS,
];

pub(crate) fn bytes_table(name: &str) -> TableDefinition<'_, &'static str, &'static [u8]> {
    TableDefinition::new(name)
}
