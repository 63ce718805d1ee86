//! The monthly security summary: failed sign-ins, lockouts and rate-limit
//! hits (the LMS's `lms_*` security metrics, as the Security dashboard
//! reads them), the security events of its logs, unusual sign-ins (the
//! alerts that mark login anomalies, and the application's own
//! `lms_suspicious_activity_total`), and Belfry's own audit log.

use std::collections::BTreeMap;

use crate::auth::AuditEntry;
use crate::rules::AlertTransition;

use super::daily::history;
use super::model::{Block, Cell, Figure, Period, Section, Tone, number, percent};
use super::sources::{Sources, label};

const ROWS: usize = 25;
/// Audit entries read for one report at most.
const MAX_AUDIT: usize = 20_000;
/// Audit entries listed one by one.
const AUDIT_ROWS: usize = 50;

/// The events the LMS logs for security (docs/lms-metrics.md).
const EVENTS: &str =
    "login_failed|account_locked|rate_limited|permission_denied|suspicious_activity|password_reset_requested";

pub fn sections(src: &Sources, period: Period, base_url: &str) -> Vec<Section> {
    let changes = history(src, period);
    vec![
        sign_ins(src, period),
        rate_limits(src, period),
        log_events(src, period),
        unusual_logins(src, period, &changes, base_url),
        audit(src, period),
    ]
}

fn sum(v: &[crate::promql::Sample]) -> f64 {
    v.iter().map(|x| x.v).sum()
}

/// Failed sign-ins by reason, the share that failed, lockouts.
fn sign_ins(src: &Sources, period: Period) -> Section {
    let mut s = Section::new("sign_ins", "Failed sign-ins and lockouts");
    let r = period.range();
    let at = period.end_ms;
    let all = src.promql(&format!("sum(increase(lms_logins_total[{r}]))"), at);
    let failed = src.promql(
        &format!(r#"sum by (reason) (increase(lms_logins_total{{result="failure"}}[{r}]))"#),
        at,
    );
    let lockouts = src.promql(&format!("sum(increase(lms_account_lockouts_total[{r}]))"), at);
    let (all, failed) = match (all, failed) {
        (Ok(a), Ok(f)) => (a, f),
        (Err(e), _) | (_, Err(e)) => {
            s.push(Block::failed("sign-ins (lms_logins_total)", e));
            return s;
        }
    };
    if all.is_empty() {
        s.push(Block::no_data(
            "sign-ins",
            "no lms_logins_total series in the period: does the LMS count its sign-ins (docs/lms-metrics.md)?",
        ));
    } else {
        let (attempts, failures) = (sum(&all), sum(&failed));
        s.push(Block::Figures(vec![
            Figure::new("Sign-in attempts", number(attempts.round())),
            Figure::new("Failed", number(failures.round())).tone(if failures > 0.0 {
                Tone::Warning
            } else {
                Tone::Ok
            }),
            Figure::new(
                "Failed share",
                if attempts > 0.0 {
                    percent(failures / attempts)
                } else {
                    "—".into()
                },
            ),
        ]));
        let mut rows: Vec<_> = failed.iter().filter(|x| x.v >= 0.5).collect();
        rows.sort_by(|a, b| b.v.total_cmp(&a.v));
        let rows = rows
            .into_iter()
            .map(|x| vec![Cell::text(label(x, "reason")), Cell::number(number(x.v.round()))])
            .collect();
        s.push(Block::table(
            "Failed sign-ins by reason",
            &["Reason", "Failed"],
            rows,
            ROWS,
        ));
    }
    match lockouts {
        Err(e) => {
            s.push(Block::failed("lockouts (lms_account_lockouts_total)", e));
        }
        Ok(v) if v.is_empty() => {
            s.push(Block::no_data(
                "lockouts",
                "no lms_account_lockouts_total series in the period",
            ));
        }
        Ok(v) => {
            let n = sum(&v).round();
            s.push(Block::Figures(vec![
                Figure::new("Accounts locked", number(n)).tone(if n > 0.0 {
                    Tone::Warning
                } else {
                    Tone::Ok
                }),
            ]));
        }
    }
    s
}

/// Requests refused by the LMS's rate limits, by limit and by endpoint.
fn rate_limits(src: &Sources, period: Period) -> Section {
    let mut s = Section::new("rate_limits", "Rate-limit hits");
    let r = period.range();
    let at = period.end_ms;
    let by_limit = src.promql(
        &format!("sum by (limit) (increase(lms_rate_limit_hits_total[{r}]))"),
        at,
    );
    let by_handler = src.promql(
        &format!("topk(10, sum by (handler) (increase(lms_rate_limit_hits_total[{r}])))"),
        at,
    );
    let (by_limit, by_handler) = match (by_limit, by_handler) {
        (Ok(l), Ok(h)) => (l, h),
        (Err(e), _) | (_, Err(e)) => {
            s.push(Block::failed("rate-limit hits (lms_rate_limit_hits_total)", e));
            return s;
        }
    };
    if by_limit.is_empty() {
        s.push(Block::no_data(
            "rate-limit hits",
            "no lms_rate_limit_hits_total series in the period",
        ));
        return s;
    }
    s.push(Block::Figures(vec![Figure::new(
        "Requests refused",
        number(sum(&by_limit).round()),
    )]));
    for (caption, column, rows, key) in [
        ("By limit", "Limit", &by_limit, "limit"),
        ("Endpoints refused most", "Endpoint", &by_handler, "handler"),
    ] {
        let mut rows: Vec<_> = rows.iter().filter(|x| x.v >= 0.5).collect();
        rows.sort_by(|a, b| b.v.total_cmp(&a.v));
        let rows = rows
            .into_iter()
            .map(|x| vec![Cell::text(label(x, key)), Cell::number(number(x.v.round()))])
            .collect();
        s.push(Block::table(caption, &[column, "Hits"], rows, ROWS));
    }
    s
}

/// The LMS's security events in its logs, by event.
fn log_events(src: &Sources, period: Period) -> Section {
    let mut s = Section::new("log_events", "Security events in the logs");
    let query = format!(
        r#"sum by (event) (count_over_time({{service=~".+"}} | json | __error__="" | event=~"{EVENTS}" [{}]))"#,
        period.range()
    );
    match src.logql_vector(&query, period.end_ms) {
        Err(e) => {
            s.push(Block::failed("security events in the logs", e));
        }
        Ok(v) if v.iter().all(|x| x.v == 0.0) => {
            s.push(Block::no_data(
                "security events",
                "no line with an event field of login_failed, account_locked, rate_limited, permission_denied, suspicious_activity or password_reset_requested",
            ));
        }
        Ok(v) => {
            let mut v: Vec<_> = v.into_iter().filter(|x| x.v > 0.0).collect();
            v.sort_by(|a, b| b.v.total_cmp(&a.v));
            let rows = v
                .iter()
                .map(|x| vec![Cell::text(label(x, "event")), Cell::number(number(x.v))])
                .collect();
            s.push(Block::table("Events", &["Event", "Lines"], rows, ROWS));
        }
    }
    s
}

/// Whether an alert marks a login anomaly: its name starts with
/// `LMSUnusualLogin`, or its `category` label is `login_anomaly` or
/// `unusual_login`.
pub fn is_login_anomaly(t: &AlertTransition) -> bool {
    t.alertname.starts_with("LMSUnusualLogin")
        || matches!(
            t.labels.get("category").map(String::as_str),
            Some("login_anomaly" | "unusual_login")
        )
}

/// Whether an alert is about security: a login anomaly, a `category`
/// of `security`, or a rule of a group named for security (the pack's
/// `lms-security-logs`).
fn is_security(t: &AlertTransition) -> bool {
    is_login_anomaly(t)
        || t.labels.get("category").is_some_and(|c| c == "security")
        || t.group.contains("security")
}

fn unusual_logins(
    src: &Sources,
    period: Period,
    changes: &Result<Vec<AlertTransition>, String>,
    base_url: &str,
) -> Section {
    let mut s = Section::new("unusual_logins", "Unusual sign-ins and security alerts");
    match changes {
        Err(e) => {
            s.push(Block::failed("security alerts (the alert history)", e));
        }
        Ok(changes) => {
            let fired: Vec<&AlertTransition> = changes
                .iter()
                .filter(|t| t.to == "firing" && is_security(t))
                .collect();
            let anomalies = fired.iter().filter(|t| is_login_anomaly(t)).count();
            s.push(Block::Figures(vec![
                Figure::new("Unusual sign-in alerts", number(anomalies as f64)).tone(if anomalies > 0 {
                    Tone::Warning
                } else {
                    Tone::Ok
                }),
                Figure::new("Security alerts fired", number(fired.len() as f64)),
            ]));
            s.push(Block::Note(
                "Unusual sign-ins are alerts named LMSUnusualLogin… or labelled category=\"login_anomaly\" (or \"unusual_login\"); security alerts also count those labelled category=\"security\" and the rules of groups named for security."
                    .into(),
            ));
            let mut by: BTreeMap<(String, String), u64> = BTreeMap::new();
            for t in &fired {
                let what: Vec<String> = ["user", "country", "client_ip", "service"]
                    .iter()
                    .filter_map(|k| t.labels.get(*k).map(|v| format!("{k}={v}")))
                    .collect();
                *by.entry((t.alertname.clone(), what.join(" "))).or_default() += 1;
            }
            let mut rows: Vec<_> = by.into_iter().collect();
            rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let rows: Vec<Vec<Cell>> = rows
                .into_iter()
                .map(|((name, what), n)| {
                    vec![
                        Cell::text(name.clone()).link(format!("{base_url}/alerts?q={name}")),
                        Cell::text(what),
                        Cell::number(number(n as f64)),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                s.push(Block::table(
                    "Fired",
                    &["Alert", "Labels", "Times fired"],
                    rows,
                    ROWS,
                ));
            }
        }
    }
    let query = format!(
        "sum by (kind) (increase(lms_suspicious_activity_total[{}]))",
        period.range()
    );
    match src.promql(&query, period.end_ms) {
        Err(e) => {
            s.push(Block::failed(
                "suspicious activity (lms_suspicious_activity_total)",
                e,
            ));
        }
        Ok(v) if v.is_empty() => {
            s.push(Block::no_data(
                "the LMS's own suspicious-activity counts",
                "no lms_suspicious_activity_total series in the period",
            ));
        }
        Ok(v) => {
            let mut v: Vec<_> = v.into_iter().filter(|x| x.v >= 0.5).collect();
            v.sort_by(|a, b| b.v.total_cmp(&a.v));
            let rows = v
                .iter()
                .map(|x| vec![Cell::text(label(x, "kind")), Cell::number(number(x.v.round()))])
                .collect();
            s.push(Block::table(
                "Flagged by the LMS (lms_suspicious_activity_total)",
                &["Kind", "Events"],
                rows,
                ROWS,
            ));
        }
    }
    s
}

/// The audit log's entries in the period, newest first.
pub fn audit_entries(src: &Sources, period: Period) -> Result<Vec<AuditEntry>, String> {
    let audit = src
        .audit
        .as_ref()
        .ok_or_else(|| "this server keeps no audit log".to_string())?;
    // Keys are `MICROS/SEQ`, zero-padded: everything before the period's
    // end sorts before this one.
    let mut before = Some(format!("{:024}", period.end_ms.max(0) as u128 * 1000));
    let mut out = Vec::new();
    while out.len() < MAX_AUDIT {
        let page = audit
            .list(before.as_deref(), crate::auth::MAX_AUDIT_PAGE)
            .map_err(|e| e.to_string())?;
        for e in page.entries {
            if e.time < period.start_ms {
                return Ok(out);
            }
            out.push(e);
        }
        match page.next {
            Some(n) => before = Some(n),
            None => return Ok(out),
        }
    }
    src.limit_hit("audit_log");
    Ok(out)
}

fn audit(src: &Sources, period: Period) -> Section {
    let mut s = Section::new("audit", "Belfry's audit log");
    let entries = match audit_entries(src, period) {
        Ok(e) => e,
        Err(e) => {
            s.push(Block::failed("the audit log", e));
            return s;
        }
    };
    s.push(Block::Figures(vec![Figure::new(
        "Changes recorded",
        number(entries.len() as f64),
    )]));
    if entries.is_empty() {
        s.push(Block::Note(
            "No change to users, tokens, silences, flood mode or other settings in the period.".into(),
        ));
        return s;
    }
    let mut by_action: BTreeMap<&str, u64> = BTreeMap::new();
    for e in &entries {
        *by_action.entry(e.action.as_str()).or_default() += 1;
    }
    let mut counts: Vec<_> = by_action.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let rows = counts
        .into_iter()
        .map(|(a, n)| vec![Cell::text(a), Cell::number(number(n as f64))])
        .collect();
    s.push(Block::table("By action", &["Action", "Times"], rows, ROWS));
    let rows = entries
        .iter()
        .map(|e| {
            vec![
                Cell::text(super::render::utc_time(e.time)),
                Cell::text(format!("{} ({})", e.actor, e.source)),
                Cell::text(e.action.clone()),
                Cell::text(e.target.clone()),
                Cell::text(e.detail.clone()),
            ]
        })
        .collect();
    s.push(Block::table(
        "Newest changes",
        &["Time (UTC)", "Who", "Action", "Target", "Detail"],
        rows,
        AUDIT_ROWS,
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transition(name: &str, group: &str, labels: &[(&str, &str)]) -> AlertTransition {
        AlertTransition {
            at_ms: 0,
            group: group.into(),
            alertname: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            from: "pending".into(),
            to: "firing".into(),
            value: 1.0,
            summary: String::new(),
        }
    }

    #[test]
    fn login_anomalies_by_name_or_category() {
        assert!(is_login_anomaly(&transition("LMSUnusualLoginCountry", "g", &[])));
        assert!(is_login_anomaly(&transition(
            "ImpossibleTravel",
            "g",
            &[("category", "login_anomaly")]
        )));
        assert!(!is_login_anomaly(&transition(
            "LMSFailedLoginBurst",
            "lms-security-logs",
            &[]
        )));
        assert!(is_security(&transition(
            "LMSFailedLoginBurst",
            "lms-security-logs",
            &[]
        )));
        assert!(is_security(&transition("X", "g", &[("category", "security")])));
        assert!(!is_security(&transition(
            "LMSAPILatencyHigh",
            "lms-api-alerts",
            &[]
        )));
    }
}
