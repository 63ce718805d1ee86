//! Floats printed exactly as Prometheus (Go) prints them: the shortest
//! decimal digits that round-trip, with Go's tie-breaking (an exact tie
//! between two shortest candidates goes to the even digit, where Rust's
//! `Display` rounds up), laid out in Go's `'f'`, `'e'` or `%g` form.

/// The shortest round-tripping digits of a finite, non-zero `|v|`, and the
/// decimal point position: `|v| = 0.DIGITS × 10^point`.
fn shortest_digits(v: f64) -> (Vec<u8>, i32) {
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(v.abs());
    let (mantissa, exp) = match s.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (s, 0),
    };
    let int_len = mantissa.find('.').unwrap_or(mantissa.len()) as i32;
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let mut point = int_len + exp;
    let leading = digits.iter().take_while(|d| **d == b'0').count();
    digits.drain(..leading);
    point -= leading as i32;
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    (digits, point)
}

fn special(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("+Inf")
    } else if v == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

fn sign(v: f64) -> &'static str {
    if v.is_sign_negative() { "-" } else { "" }
}

/// Go `strconv.FormatFloat(v, 'f', -1, 64)` (with `NaN`, `+Inf`, `-Inf`):
/// what `count_values` writes into its label.
pub fn format_float(v: f64) -> String {
    if let Some(s) = special(v) {
        return s.to_string();
    }
    if v == 0.0 {
        return format!("{}0", sign(v));
    }
    let (d, point) = shortest_digits(v);
    let digits = std::str::from_utf8(&d).unwrap_or("0");
    let n = d.len() as i32;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point >= n {
        format!("{digits}{}", "0".repeat((point - n) as usize))
    } else {
        format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
    };
    format!("{}{body}", sign(v))
}

/// Go `strconv.FormatFloat(v, 'e', -1, 64)`, e.g. `1.5e-07`, `1e+21`.
fn format_exp(v: f64) -> String {
    let (d, point) = shortest_digits(v);
    let digits = std::str::from_utf8(&d).unwrap_or("0");
    let exp = point - 1;
    let frac = if digits.len() > 1 {
        format!(".{}", &digits[1..])
    } else {
        String::new()
    };
    let exp_sign = if exp < 0 { '-' } else { '+' };
    format!("{}{}{frac}e{exp_sign}{:02}", sign(v), &digits[..1], exp.abs())
}

/// A sample value as Prometheus's JSON API writes it (`jsonutil.MarshalFloat`):
/// the `'f'` form, but the `'e'` form below 1e-6 and from 1e21 up.
pub fn format_sample_value(v: f64) -> String {
    if let Some(s) = special(v) {
        return s.to_string();
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        return format_exp(v);
    }
    format_float(v)
}

/// Appends [`format_sample_value`]'s text to `out`. Most values take a
/// fast path: where ryu's shortest form has no exponent it is Go's `'f'`
/// form once a trailing `.0` goes (ryu breaks ties to even as Go does).
pub fn write_sample_value(out: &mut String, v: f64) {
    if v.is_finite() {
        let mut buf = ryu::Buffer::new();
        let s = buf.format_finite(v);
        if !s.contains('e') {
            out.push_str(s.strip_suffix(".0").unwrap_or(s));
            return;
        }
    }
    out.push_str(&format_sample_value(v));
}

/// Go's `%g` (shortest), as annotations print numbers: exponent form
/// below 1e-4 and from 1e21 up.
pub fn format_go_g(v: f64) -> String {
    if let Some(s) = special(v) {
        return s.to_string();
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-4..1e21).contains(&abs) {
        return format_exp(v);
    }
    format_float(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go_f() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(123.456), "123.456");
        assert_eq!(format_float(1e21), "1000000000000000000000");
        assert_eq!(format_float(1.5e-7), "0.00000015");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_float(f64::NAN), "NaN");
        assert_eq!(format_float(-0.0), "-0");
        assert_eq!(format_float(0.0), "0");
        assert_eq!(format_float(-2.5), "-2.5");
    }

    #[test]
    // The literals are the exact binary values, which is the point.
    #[allow(clippy::excessive_precision)]
    fn exact_ties_go_to_the_even_digit_as_in_go() {
        // Both ...62 and ...63 round-trip; the exact value ends in ...625,
        // and Go (like Prometheus's output) picks the even digit.
        assert_eq!(format_float(106282340910713.625), "106282340910713.62");
        assert_eq!(format_float(2181419228060257.25), "2181419228060257.2");
        assert_eq!(format_float(31938417823001.5625), "31938417823001.562");
        assert_eq!(format_float(24854288461637.3125), "24854288461637.312");
    }

    #[test]
    fn sample_values_switch_to_exponent_form_like_prometheus() {
        assert_eq!(
            format_sample_value(1.1632482710410841e-07),
            "1.1632482710410841e-07"
        );
        assert_eq!(
            format_sample_value(-4.450752112805409e-08),
            "-4.450752112805409e-08"
        );
        assert_eq!(
            format_sample_value(1.287606998651313e-66),
            "1.287606998651313e-66"
        );
        assert_eq!(format_sample_value(1e21), "1e+21");
        assert_eq!(format_sample_value(1.5e300), "1.5e+300");
        assert_eq!(format_sample_value(0.000001), "0.000001");
        assert_eq!(format_sample_value(0.0), "0");
        assert_eq!(format_sample_value(123.0), "123");
        assert_eq!(format_sample_value(f64::NAN), "NaN");
        assert_eq!(format_sample_value(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn the_fast_writer_agrees_with_the_full_formatter() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            1e-6,
            9.99e-7,
            1e21,
            9.9e20,
            1e16,
            123456789.125,
            5e-324,
        ];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(f64::from_bits(x));
            values.push((x % 1_000_000) as f64 / 1000.0);
            values.push((x >> 11) as f64 * 1e-9);
        }
        for v in values {
            let mut out = String::new();
            write_sample_value(&mut out, v);
            assert_eq!(out, format_sample_value(v), "{v:e}");
        }
    }

    #[test]
    fn go_g_switches_at_1e_minus_4() {
        assert_eq!(format_go_g(0.0001), "0.0001");
        assert_eq!(format_go_g(0.00001), "1e-05");
        assert_eq!(format_go_g(1.5), "1.5");
        assert_eq!(format_go_g(-3e22), "-3e+22");
    }
}
