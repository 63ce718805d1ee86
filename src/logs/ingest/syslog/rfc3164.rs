//! RFC 3164 ("BSD syslog") after the PRI: `Mmm dd hh:mm:ss HOST TAG[PID]:
//! MSG`. The format has no year and no zone: the year is the one that puts
//! the time closest before the receiver's clock (a December message read
//! on 1 January is last year's), and the time is read as UTC. A message
//! whose timestamp does not parse is kept whole as MSG, as RFC 3164 §4.3.3
//! tells a relay to do.

use chrono::{Datelike, NaiveDate, TimeZone, Utc};

#[derive(Debug, Default, PartialEq)]
pub struct Rfc3164 {
    pub timestamp_ns: Option<i64>,
    pub host: Option<String>,
    pub tag: Option<String>,
    pub pid: Option<String>,
    pub msg: String,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A tag longer than this is taken as the start of the message.
const MAX_TAG: usize = 48;

pub fn parse(after_pri: &str, now_ns: i64) -> Rfc3164 {
    let Some((timestamp_ns, rest)) = timestamp(after_pri, now_ns) else {
        return Rfc3164 {
            msg: after_pri.to_string(),
            ..Rfc3164::default()
        };
    };
    let rest = rest.trim_start_matches(' ');
    // HOST, unless the first word is already the tag (local senders).
    let (host, rest) = match rest.split_once(' ') {
        Some((word, after)) if !word.ends_with(':') && !word.contains('[') && !word.is_empty() => {
            (Some(word.to_string()), after)
        }
        _ => (None, rest),
    };
    let (tag, pid, msg) = tag(rest);
    Rfc3164 {
        timestamp_ns: Some(timestamp_ns),
        host,
        tag,
        pid,
        msg: msg.to_string(),
    }
}

fn timestamp(text: &str, now_ns: i64) -> Option<(i64, &str)> {
    let head = text.get(..15)?;
    let month = MONTHS.iter().position(|m| head.starts_with(m))? as u32 + 1;
    let b = head.as_bytes();
    if b[3] != b' ' || b[6] != b' ' || b[9] != b':' || b[12] != b':' {
        return None;
    }
    let day: u32 = head[4..6].trim_start().parse().ok()?;
    let hour: u32 = head[7..9].parse().ok()?;
    let minute: u32 = head[10..12].parse().ok()?;
    let second: u32 = head[13..15].parse().ok()?;
    let now = Utc.timestamp_nanos(now_ns);
    // A day ahead of the clock is allowed for skew; past that, last year.
    let pick = |year: i32| {
        NaiveDate::from_ymd_opt(year, month, day)?
            .and_hms_opt(hour, minute, second)
            .map(|t| t.and_utc())
    };
    let this_year = pick(now.year());
    let at = match this_year {
        Some(t) if t <= now + chrono::Duration::days(1) => t,
        _ => pick(now.year() - 1)?,
    };
    Some((at.timestamp_nanos_opt()?, &text[15..]))
}

/// `TAG[PID]: MSG` or `TAG: MSG`; anything else is all message.
fn tag(text: &str) -> (Option<String>, Option<String>, &str) {
    let end = text
        .bytes()
        .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/')))
        .unwrap_or(text.len());
    if end == 0 || end > MAX_TAG {
        return (None, None, text);
    }
    let name = &text[..end];
    let rest = &text[end..];
    if let Some(after) = rest.strip_prefix('[')
        && let Some(close) = after.find(']')
        && let Some(msg) = after[close + 1..].strip_prefix(':')
    {
        return (
            Some(name.to_string()),
            Some(after[..close].to_string()),
            msg.strip_prefix(' ').unwrap_or(msg),
        );
    }
    match rest.strip_prefix(':') {
        Some(msg) => (Some(name.to_string()), None, msg.strip_prefix(' ').unwrap_or(msg)),
        None => (None, None, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-06T19:00:00Z
    const NOW: i64 = 1_796_583_600_000_000_000;

    #[test]
    fn logger_and_rfc_example() {
        let m = parse("Dec  6 19:04:11 vm lms-cron: rfc3164 over udp", NOW);
        assert_eq!(m.host.as_deref(), Some("vm"));
        assert_eq!(m.tag.as_deref(), Some("lms-cron"));
        assert_eq!(m.msg, "rfc3164 over udp");
        assert_eq!(m.timestamp_ns, Some(NOW + (4 * 60 + 11) * 1_000_000_000));
        // RFC 3164 §5.4, with a pid.
        let m = parse("Oct 11 22:14:15 mymachine su[123]: 'su root' failed", NOW);
        assert_eq!((m.tag.as_deref(), m.pid.as_deref()), (Some("su"), Some("123")));
        assert_eq!(m.msg, "'su root' failed");
    }

    #[test]
    fn year_rolls_back_past_new_year() {
        // 2027-01-01T00:00:30Z reading a message from 31 December.
        let jan1 = 1_798_761_630_000_000_000;
        let m = parse("Dec 31 23:59:59 h app: x", jan1);
        assert_eq!(m.timestamp_ns, Some(jan1 - 31_000_000_000));
    }

    #[test]
    fn no_host_and_no_timestamp() {
        let m = parse("Dec  6 19:04:11 cron[42]: job ran", NOW);
        assert_eq!(m.host, None);
        assert_eq!(m.tag.as_deref(), Some("cron"));
        let m = parse("garbage without a date", NOW);
        assert_eq!(m.timestamp_ns, None);
        assert_eq!(m.msg, "garbage without a date");
        let m = parse("Feb 30 10:00:00 h t: impossible date", NOW);
        assert_eq!(m.timestamp_ns, None);
    }
}
