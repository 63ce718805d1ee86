//! Numbers in exposition bodies: sample values with Go's `ParseFloat` syntax
//! (what Prometheus accepts), OpenMetrics float-second timestamps converted
//! exactly to milliseconds, and the OpenMetrics float spelling Prometheus 3
//! uses to normalise `le` and `quantile` label values.

use std::fmt::Write as _;

/// The NaN Prometheus stores for a `NaN` in a body. It differs from the
/// staleness marker (`model::STALE_NAN`), so a scraped `NaN` can never be
/// mistaken for one.
pub const NORMAL_NAN: f64 = f64::from_bits(0x7ff8_0000_0000_0001);

/// Why a number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    /// Not a number in any spelling Go's `ParseFloat` accepts (hex floats and
    /// `_` separators are refused too, as in Prometheus).
    Syntax,
    /// Well-formed but beyond the range of the target type.
    OutOfRange,
    /// A timestamp spelled `NaN` or `±Inf`.
    NotFinite,
}

/// A decimal number split into its parts, borrowed from the input.
struct Decimal<'a> {
    negative: bool,
    int_digits: &'a [u8],
    frac_digits: &'a [u8],
    exponent: i64,
}

/// Splits `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`.
fn split_decimal(s: &[u8]) -> Option<Decimal<'_>> {
    let (negative, rest) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let int_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let int_digits = &rest[..int_len];
    let mut rest = &rest[int_len..];
    let mut frac_digits: &[u8] = &[];
    if let Some(b'.') = rest.first() {
        let frac_len = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        frac_digits = &rest[1..1 + frac_len];
        rest = &rest[1 + frac_len..];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    let mut exponent: i64 = 0;
    if let Some(b'e' | b'E') = rest.first() {
        let (exp_negative, digits) = match rest.get(1) {
            Some(b'-') => (true, &rest[2..]),
            Some(b'+') => (false, &rest[2..]),
            _ => (false, &rest[1..]),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        for &d in digits {
            // Saturate: an exponent this large is out of range either way.
            exponent = (exponent * 10 + i64::from(d - b'0')).min(1 << 40);
        }
        if exp_negative {
            exponent = -exponent;
        }
        rest = &[];
    }
    if !rest.is_empty() {
        return None;
    }
    Some(Decimal {
        negative,
        int_digits,
        frac_digits,
        exponent,
    })
}

/// `inf`, `infinity` (any case, optional sign) and `nan` (any case, no
/// sign): the special spellings Go's `ParseFloat` accepts.
fn parse_special(s: &[u8]) -> Option<f64> {
    if s.eq_ignore_ascii_case(b"nan") {
        return Some(NORMAL_NAN);
    }
    let (sign, word) = match s.first()? {
        b'-' => (-1.0, &s[1..]),
        b'+' => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    if word.eq_ignore_ascii_case(b"inf") || word.eq_ignore_ascii_case(b"infinity") {
        return Some(sign * f64::INFINITY);
    }
    None
}

/// Parses a sample value as Prometheus does (Go's `ParseFloat` without hex
/// floats or underscores). A finite spelling that overflows is an error, as
/// in Go; one that underflows becomes zero. NaN comes back as [`NORMAL_NAN`].
pub fn parse_value(s: &[u8]) -> Result<f64, NumberError> {
    // Most values are small integers; skip the general parser for them.
    if !s.is_empty() && s.len() <= 15 && s.iter().all(u8::is_ascii_digit) {
        let mut n: u64 = 0;
        for &d in s {
            n = n * 10 + u64::from(d - b'0');
        }
        // Exact: below 2^53.
        return Ok(n as f64);
    }
    if let Some(v) = parse_special(s) {
        return Ok(v);
    }
    if split_decimal(s).is_none() {
        return Err(NumberError::Syntax);
    }
    // The grammar above is a subset of Rust's, and the two agree on it.
    let text = std::str::from_utf8(s).map_err(|_| NumberError::Syntax)?;
    let v: f64 = text.parse().map_err(|_| NumberError::Syntax)?;
    if v.is_infinite() {
        return Err(NumberError::OutOfRange);
    }
    Ok(v)
}

/// Converts an OpenMetrics timestamp (float seconds) to milliseconds.
///
/// Prometheus computes `int64(seconds * 1000)`, truncating toward zero; doing
/// that in binary floating point sometimes lands one millisecond low (e.g.
/// `1700215884.373` × 1000 is just under `…373`). We do the same truncation
/// on the exact decimal value instead, so a timestamp written with
/// millisecond precision always reads back as the millisecond it names.
pub fn parse_openmetrics_timestamp(s: &[u8]) -> Result<i64, NumberError> {
    if parse_special(s).is_some() {
        return Err(NumberError::NotFinite);
    }
    let d = split_decimal(s).ok_or(NumberError::Syntax)?;
    // Milliseconds: the decimal point moves three places right.
    let point = d.int_digits.len() as i64 + d.exponent + 3;
    let digits = d.int_digits.iter().chain(d.frac_digits.iter());
    let mut ms: i64 = 0;
    let mut seen: i64 = 0;
    for &digit in digits {
        if seen >= point {
            break;
        }
        ms = ms
            .checked_mul(10)
            .and_then(|m| m.checked_add(i64::from(digit - b'0')))
            .ok_or(NumberError::OutOfRange)?;
        seen += 1;
    }
    // Fewer digits than places before the point: pad with zeros.
    // (Zero stays zero however far the point moves.)
    while ms != 0 && seen < point {
        ms = ms.checked_mul(10).ok_or(NumberError::OutOfRange)?;
        seen += 1;
    }
    Ok(if d.negative { -ms } else { ms })
}

/// Parses a Prometheus text-format timestamp: decimal digits only (the
/// format has no sign here), milliseconds.
pub fn parse_text_timestamp(s: &[u8]) -> Result<i64, NumberError> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return Err(NumberError::Syntax);
    }
    let mut n: i64 = 0;
    for &d in s {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(i64::from(d - b'0')))
            .ok_or(NumberError::OutOfRange)?;
    }
    Ok(n)
}

/// Writes `v` as Prometheus's `FormatOpenMetricsFloat` does: Go's shortest
/// `%g` spelling (exponent form from 1e+06 up and below 1e-04), with `.0`
/// appended to integers, and `+Inf`, `-Inf`, `NaN`.
pub fn write_openmetrics_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    if v == 0.0 {
        // Prometheus spells -0 as "0.0" too.
        out.push_str("0.0");
        return;
    }
    // Rust's `{:e}` gives the shortest round-trip digits, e.g. "-1.2345e3".
    let mut sci = String::with_capacity(32);
    let _ = write!(sci, "{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if negative {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
        return;
    }
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
        return;
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        out.push_str(&digits);
        for _ in digits.len()..int_len {
            out.push('0');
        }
        out.push_str(".0");
    } else {
        out.push_str(&digits[..int_len]);
        out.push('.');
        out.push_str(&digits[int_len..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(s: &str) -> Result<f64, NumberError> {
        parse_value(s.as_bytes())
    }

    #[test]
    fn values_in_go_spellings() {
        assert_eq!(value("0"), Ok(0.0));
        assert_eq!(value("232"), Ok(232.0));
        assert_eq!(value("-1.5"), Ok(-1.5));
        assert_eq!(value("+1.5"), Ok(1.5));
        assert_eq!(value("3.886707e+06"), Ok(3.886707e6));
        assert_eq!(value("1E-3"), Ok(0.001));
        assert_eq!(value(".5"), Ok(0.5));
        assert_eq!(value("5."), Ok(5.0));
        assert_eq!(value("123456789012345678901234567890"), Ok(1.2345678901234568e29));
        assert_eq!(value("+Inf"), Ok(f64::INFINITY));
        assert_eq!(value("-Inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(value("inf"), Ok(f64::INFINITY));
        assert_eq!(value("-infinity"), Ok(f64::NEG_INFINITY));
        assert_eq!(value("+INFINITY"), Ok(f64::INFINITY));
        assert_eq!(value("NaN").map(f64::to_bits), Ok(NORMAL_NAN.to_bits()));
        assert_eq!(value("nan").map(f64::to_bits), Ok(NORMAL_NAN.to_bits()));
        assert_eq!(value("-0").map(f64::to_bits), Ok((-0.0f64).to_bits()));
        // Underflow is zero in Go, not an error.
        assert_eq!(value("1e-400"), Ok(0.0));
        assert_eq!(value("4.9e-324"), Ok(f64::from_bits(1)));
    }

    #[test]
    fn values_go_refuses() {
        for bad in [
            "", "+", "-", ".", "e5", "1e", "1e+", "1.2.3", "0x10", "0x1p3", "1_000", "+nan", "-NaN", "infin",
            "in", "1 ", " 1", "1f", "--1", "١",
        ] {
            assert_eq!(value(bad), Err(NumberError::Syntax), "{bad:?}");
        }
        assert_eq!(value("1e400"), Err(NumberError::OutOfRange));
        assert_eq!(value("-1e309"), Err(NumberError::OutOfRange));
    }

    #[test]
    fn openmetrics_timestamps_are_exact_milliseconds() {
        let ts = |s: &str| parse_openmetrics_timestamp(s.as_bytes());
        assert_eq!(ts("1700215884.373"), Ok(1_700_215_884_373));
        assert_eq!(ts("0.000"), Ok(0));
        assert_eq!(ts("60"), Ok(60_000));
        assert_eq!(ts("1520879607.789"), Ok(1_520_879_607_789));
        // Sub-millisecond digits truncate toward zero, as upstream.
        assert_eq!(ts("1.2349"), Ok(1234));
        assert_eq!(ts("-1.2349"), Ok(-1234));
        assert_eq!(ts("1.7268398142239082e+09"), Ok(1_726_839_814_223));
        assert_eq!(ts("1e-4"), Ok(0));
        assert_eq!(ts("5e2"), Ok(500_000));
        assert_eq!(ts(".5"), Ok(500));
        assert_eq!(ts("NaN"), Err(NumberError::NotFinite));
        assert_eq!(ts("+Inf"), Err(NumberError::NotFinite));
        assert_eq!(ts("1e30"), Err(NumberError::OutOfRange));
        assert_eq!(ts("99999999999999999999"), Err(NumberError::OutOfRange));
        assert_eq!(ts("12a"), Err(NumberError::Syntax));
        assert_eq!(ts("1e99999999999999999999999"), Err(NumberError::OutOfRange));
        assert_eq!(ts("0e99999999999999999999999"), Ok(0));
    }

    #[test]
    fn text_timestamps_are_unsigned_integers() {
        let ts = |s: &str| parse_text_timestamp(s.as_bytes());
        assert_eq!(ts("1395066363000"), Ok(1_395_066_363_000));
        assert_eq!(ts("9223372036854775807"), Ok(i64::MAX));
        assert_eq!(ts("9223372036854775808"), Err(NumberError::OutOfRange));
        assert_eq!(ts("-5"), Err(NumberError::Syntax));
        assert_eq!(ts("1.5"), Err(NumberError::Syntax));
    }

    #[test]
    fn openmetrics_float_spelling_matches_prometheus() {
        let f = |v: f64| {
            let mut s = String::new();
            write_openmetrics_float(&mut s, v);
            s
        };
        assert_eq!(f(1.0), "1.0");
        assert_eq!(f(0.0), "0.0");
        assert_eq!(f(-0.0), "0.0");
        assert_eq!(f(-1.0), "-1.0");
        assert_eq!(f(100.0), "100.0");
        assert_eq!(f(0.25), "0.25");
        assert_eq!(f(0.005), "0.005");
        assert_eq!(f(0.0001), "0.0001");
        assert_eq!(f(0.00001), "1e-05");
        assert_eq!(f(364.5), "364.5");
        assert_eq!(f(100000.0), "100000.0");
        assert_eq!(f(1e6), "1e+06");
        assert_eq!(f(123456789.0), "1.23456789e+08");
        assert_eq!(f(2767.921875), "2767.921875");
        assert_eq!(f(-8.999999999999979e-05), "-8.999999999999979e-05");
        assert_eq!(f(1e300), "1e+300");
        assert_eq!(f(f64::INFINITY), "+Inf");
        assert_eq!(f(f64::NEG_INFINITY), "-Inf");
        assert_eq!(f(f64::NAN), "NaN");
    }
}
