//! Go string-literal semantics the parser does not keep: in PromQL (as in
//! Go) `"\xff"` is a raw byte, so a literal can be invalid UTF-8 and thus an
//! invalid label name. `promql-parser` decodes `\xNN` as the char U+00NN,
//! so such literals are found here, from the query text.

/// For each double- or single-quoted literal in `query` whose Go value is
/// not valid UTF-8: (the value as the parser decodes it, Go's `%q` of it).
pub(crate) fn invalid_utf8_literals(query: &str) -> Vec<(String, String)> {
    let b = query.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let q = b[i];
        if q != b'"' && q != b'\'' {
            i += 1;
            continue;
        }
        let mut bytes: Vec<u8> = Vec::new();
        let mut parsed = String::new();
        let mut has_raw = false;
        i += 1;
        while i < b.len() && b[i] != q {
            if b[i] == b'\\' && i + 1 < b.len() {
                let c = b[i + 1];
                if c == b'x'
                    && i + 3 < b.len()
                    && let Ok(v) = u8::from_str_radix(&query[i + 2..i + 4], 16)
                {
                    {
                        bytes.push(v);
                        parsed.push(v as char);
                        has_raw |= v >= 0x80;
                        i += 4;
                        continue;
                    }
                }
                // Other escapes: keep the parser's decoding for both views.
                let ch = match c {
                    b'n' => '\n',
                    b't' => '\t',
                    b'\\' => '\\',
                    b'"' => '"',
                    b'\'' => '\'',
                    other => other as char,
                };
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                parsed.push(ch);
                i += 2;
                continue;
            }
            let ch_len = utf8_len(b[i]);
            let end = (i + ch_len).min(b.len());
            bytes.extend_from_slice(&b[i..end]);
            parsed.push_str(std::str::from_utf8(&b[i..end]).unwrap_or(""));
            i = end;
        }
        i += 1;
        if has_raw && std::str::from_utf8(&bytes).is_err() {
            out.push((parsed, go_quote(&bytes)));
        }
    }
    out
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

/// Go's `%q` for bytes that may be invalid UTF-8.
fn go_quote(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                c => s.push(c),
            }
        }
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_raw_bytes() {
        let found = invalid_utf8_literals(r#"count_values("a\xc5z", x)"#);
        assert_eq!(found, vec![("a\u{c5}z".to_string(), r#""a\xc5z""#.to_string())]);
        assert!(invalid_utf8_literals(r#"label_replace(x, "\x41", "", "a", "b")"#).is_empty());
    }
}
