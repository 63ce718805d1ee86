//! One syslog message → an entry: RFC 5424 when the version `1` follows
//! the PRI, RFC 3164 otherwise. Host, app name (3164's tag) and facility
//! become labels, the severity the level; PROCID, MSGID, the PID and each
//! structured-data parameter (as `SD-ID.PARAM`) become fields.

use serde_json::{Map, Value};

use super::pri::{DEFAULT_PRI, parse_pri};
use super::{SyslogError, facility_name, rfc3164, rfc5424};
use crate::logs::{Entry, LevelHint};

/// A UDP datagram holds exactly one message.
pub fn decode_datagram(datagram: &[u8], now_ns: i64) -> Result<Entry, SyslogError> {
    decode_message(datagram, now_ns)
}

/// `now_ns` (the receiver's clock) supplies RFC 3164's missing year.
pub fn decode_message(bytes: &[u8], now_ns: i64) -> Result<Entry, SyslogError> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end_matches(['\n', '\r', '\0']);
    if text.trim().is_empty() {
        return Err(SyslogError::Empty);
    }
    let (pri, rest) = if text.starts_with('<') {
        parse_pri(text)?
    } else {
        (DEFAULT_PRI, text)
    };
    let mut labels = vec![("facility".to_string(), facility_name(pri.facility).to_string())];
    let mut fields = Map::new();
    let (timestamp_ns, line) = if rfc5424::looks_like(rest) {
        let m = rfc5424::parse(rest)?;
        push_label(&mut labels, "host", m.host);
        push_label(&mut labels, "app", m.app);
        push_field(&mut fields, "procid", m.procid);
        push_field(&mut fields, "msgid", m.msgid);
        for (id, params) in m.structured_data {
            for (name, value) in params {
                fields.insert(format!("{id}.{name}"), Value::String(value));
            }
        }
        (m.timestamp_ns, m.msg)
    } else {
        let m = rfc3164::parse(rest, now_ns);
        push_label(&mut labels, "host", m.host);
        push_label(&mut labels, "app", m.tag);
        push_field(&mut fields, "pid", m.pid);
        (m.timestamp_ns, m.msg)
    };
    labels.sort();
    Ok(Entry {
        timestamp_ns,
        labels,
        line,
        level: Some(LevelHint::Syslog(pri.severity)),
        fields,
    })
}

fn push_label(labels: &mut Vec<(String, String)>, name: &str, value: Option<String>) {
    if let Some(v) = value {
        labels.push((name.to_string(), v));
    }
}

fn push_field(fields: &mut Map<String, Value>, name: &str, value: Option<String>) {
    if let Some(v) = value {
        fields.insert(name.to_string(), Value::String(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_583_600_000_000_000;

    fn label<'a>(e: &'a Entry, name: &str) -> Option<&'a str> {
        e.labels.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn captured_logger_rfc5424_udp() {
        let e = decode_datagram(
            include_bytes!("../../../../tests/fixtures/logs/syslog_logger_rfc5424_udp.txt"),
            NOW,
        )
        .unwrap();
        assert_eq!(e.level, Some(LevelHint::Syslog(3)));
        assert_eq!(label(&e, "facility"), Some("local0"));
        assert_eq!(label(&e, "host"), Some("vm"));
        assert_eq!(label(&e, "app"), Some("lms-web"));
        assert_eq!(e.line, "rfc5424 over udp");
        assert_eq!(e.fields.get("req@32473.id"), Some(&Value::String("r-9".into())));
        assert_eq!(
            e.fields.get("req@32473.path"),
            Some(&Value::String("/a b".into()))
        );
        assert_eq!(
            e.fields.get("timeQuality.tzKnown"),
            Some(&Value::String("1".into()))
        );
        assert_eq!(e.timestamp_ns, Some(1_796_583_875_149_144_000));
    }

    #[test]
    fn captured_logger_rfc3164_udp() {
        let e = decode_datagram(
            include_bytes!("../../../../tests/fixtures/logs/syslog_logger_rfc3164_udp.txt"),
            NOW,
        )
        .unwrap();
        assert_eq!(e.level, Some(LevelHint::Syslog(4)));
        assert_eq!(label(&e, "facility"), Some("user"));
        assert_eq!(label(&e, "app"), Some("lms-cron"));
        assert_eq!(e.line, "rfc3164 over udp");
    }

    #[test]
    fn bad_messages() {
        assert_eq!(decode_message(b"\n", NOW), Err(SyslogError::Empty));
        assert!(matches!(decode_message(b"<999>x", NOW), Err(SyslogError::Pri(_))));
        assert!(matches!(
            decode_message(b"<13>1 - h a p m [x", NOW),
            Err(SyslogError::StructuredData { .. })
        ));
        let e = decode_message(b"no pri at all", NOW).unwrap();
        assert_eq!(e.level, Some(LevelHint::Syslog(5)));
        assert_eq!(e.line, "no pri at all");
    }
}
