//! RFC 5424 after the PRI: `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP
//! PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]`, `-` for a missing value,
//! structured data with `\"`, `\\` and `\]` escaped in parameter values,
//! and a UTF-8 BOM before the message dropped.

use super::SyslogError;

#[derive(Debug, Default, PartialEq)]
pub struct Rfc5424 {
    pub timestamp_ns: Option<i64>,
    pub host: Option<String>,
    pub app: Option<String>,
    pub procid: Option<String>,
    pub msgid: Option<String>,
    /// `(SD-ID, [(PARAM-NAME, value)])`, in order.
    pub structured_data: Vec<(String, Vec<(String, String)>)>,
    pub msg: String,
}

/// Whether `after_pri` starts like RFC 5424 (`1 `).
pub fn looks_like(after_pri: &str) -> bool {
    after_pri.starts_with("1 ")
}

pub fn parse(after_pri: &str) -> Result<Rfc5424, SyslogError> {
    let rest = after_pri
        .strip_prefix("1 ")
        .ok_or_else(|| SyslogError::Header("version is not 1".to_string()))?;
    let mut fields = rest.splitn(6, ' ');
    let mut next = |name: &str| {
        fields
            .next()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| SyslogError::Header(format!("{name} is missing")))
    };
    let timestamp = next("TIMESTAMP")?;
    let host = nil(next("HOSTNAME")?);
    let app = nil(next("APP-NAME")?);
    let procid = nil(next("PROCID")?);
    let msgid = nil(next("MSGID")?);
    let tail = fields
        .next()
        .ok_or_else(|| SyslogError::Header("STRUCTURED-DATA is missing".to_string()))?;
    let timestamp_ns = match timestamp {
        "-" => None,
        t => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .ok()
                .and_then(|d| d.timestamp_nanos_opt())
                .ok_or_else(|| SyslogError::Timestamp(t.to_string()))?,
        ),
    };
    let (structured_data, msg) = structured_data(tail)?;
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    Ok(Rfc5424 {
        timestamp_ns,
        host,
        app,
        procid,
        msgid,
        structured_data,
        msg: msg.to_string(),
    })
}

fn nil(field: &str) -> Option<String> {
    (field != "-").then(|| field.to_string())
}

type Elements = Vec<(String, Vec<(String, String)>)>;

/// The structured data at the start of `text` and the message after it.
fn structured_data(text: &str) -> Result<(Elements, &str), SyslogError> {
    let fail = |at: usize, reason| SyslogError::StructuredData { at, reason };
    if let Some(rest) = text.strip_prefix('-') {
        return match rest.strip_prefix(' ') {
            Some(msg) => Ok((Vec::new(), msg)),
            None if rest.is_empty() => Ok((Vec::new(), "")),
            None => Err(fail(1, "expected a space after '-'")),
        };
    }
    let b = text.as_bytes();
    let mut pos = 0;
    let mut elements = Vec::new();
    while b.get(pos) == Some(&b'[') {
        pos += 1;
        let id_start = pos;
        while b.get(pos).is_some_and(|&c| is_name_byte(c)) {
            pos += 1;
        }
        if pos == id_start {
            return Err(fail(pos, "expected an SD-ID"));
        }
        let id = text[id_start..pos].to_string();
        let mut params = Vec::new();
        loop {
            match b.get(pos) {
                Some(b']') => {
                    pos += 1;
                    break;
                }
                Some(b' ') => pos += 1,
                Some(_) => return Err(fail(pos, "expected a space or ']'")),
                None => return Err(fail(pos, "unterminated element")),
            }
            let name_start = pos;
            while b.get(pos).is_some_and(|&c| is_name_byte(c)) {
                pos += 1;
            }
            if pos == name_start {
                return Err(fail(pos, "expected a PARAM-NAME"));
            }
            let name = text[name_start..pos].to_string();
            if b.get(pos) != Some(&b'=') || b.get(pos + 1) != Some(&b'"') {
                return Err(fail(pos, "expected '=\"' after the PARAM-NAME"));
            }
            pos += 2;
            let mut value = String::new();
            let mut run = pos;
            loop {
                match b.get(pos) {
                    None => return Err(fail(pos, "unterminated PARAM-VALUE")),
                    Some(b'"') => break,
                    Some(b'\\') if matches!(b.get(pos + 1), Some(b'"' | b'\\' | b']')) => {
                        value.push_str(&text[run..pos]);
                        pos += 1;
                        run = pos;
                        pos += 1;
                    }
                    Some(_) => pos += 1,
                }
            }
            value.push_str(&text[run..pos]);
            pos += 1;
            params.push((name, value));
        }
        elements.push((id, params));
    }
    if elements.is_empty() {
        return Err(fail(0, "expected '-' or '['"));
    }
    match b.get(pos) {
        None => Ok((elements, "")),
        Some(b' ') => Ok((elements, &text[pos + 1..])),
        Some(_) => Err(fail(pos, "expected a space after the structured data")),
    }
}

/// SD-NAME: printable US-ASCII except `=`, space, `]` and `"`.
fn is_name_byte(c: u8) -> bool {
    (33..=126).contains(&c) && !matches!(c, b'=' | b']' | b'"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_examples() {
        // RFC 5424 §6.5, examples 1 and 3.
        let m = parse("1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed for lonvick on /dev/pts/8").unwrap();
        assert_eq!(m.timestamp_ns, Some(1_065_910_455_003_000_000));
        assert_eq!(m.host.as_deref(), Some("mymachine.example.com"));
        assert_eq!(m.app.as_deref(), Some("su"));
        assert_eq!(m.procid, None);
        assert_eq!(m.msgid.as_deref(), Some("ID47"));
        assert_eq!(m.msg, "'su root' failed for lonvick on /dev/pts/8");
        let m = parse(r#"1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]"#).unwrap();
        assert_eq!(m.structured_data.len(), 2);
        assert_eq!(
            m.structured_data[0].1[1],
            ("eventSource".to_string(), "Application".to_string())
        );
        assert_eq!(m.structured_data[1].0, "examplePriority@32473");
        assert_eq!(m.msg, "");
    }

    #[test]
    fn escapes_and_nil_values() {
        let m = parse(r#"1 - - - - - [a p="x\"y\\z\]w\n"] msg [not sd]"#).unwrap();
        assert_eq!(m.timestamp_ns, None);
        assert_eq!(m.host, None);
        assert_eq!(
            m.structured_data,
            vec![(
                "a".to_string(),
                vec![("p".to_string(), r#"x"y\z]w\n"#.to_string())]
            )]
        );
        assert_eq!(m.msg, "msg [not sd]");
    }

    #[test]
    fn errors() {
        for (text, want) in [
            ("2 x", "version"),
            ("1 2003-10-11T22:14:15Z host", "APP-NAME is missing"),
            ("1 yesterday h a p m - x", "not RFC 3339"),
            ("1 - h a p m [a p=\"x] m", "unterminated PARAM-VALUE"),
            ("1 - h a p m [a p=x] m", "expected '=\"'"),
            ("1 - h a p m x", "expected '-' or '['"),
            ("1 - h a p m [a]x", "space after the structured data"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
