//! Go's `fmt` formatting of template values: `%v` (what `{{ $value }}`
//! prints), the float verbs `%e %f %g` with Go's choice between fixed and
//! exponent notation, and `printf`'s verbs, flags, width and precision,
//! including Go's `%!verb(type=value)` text for mismatched arguments.

use super::gotime;
use super::kv::sorted_pairs;
use super::value::TValue;

/// A float as Go's `%v` prints it (`strconv.FormatFloat(v, 'g', -1, 64)`).
pub fn float_v(v: f64) -> String {
    fmt_g(v, None, false)
}

/// The decimal digits and decimal-point position of `|v|`, shortest
/// round-trip (`prec = None`) or rounded to `prec` significant digits,
/// without trailing zeros.
fn digits(v: f64, prec: Option<usize>) -> (Vec<u8>, i32) {
    let a = v.abs();
    if a == 0.0 {
        return (vec![b'0'], 1);
    }
    let s = match prec {
        None => format!("{a:e}"),
        Some(p) => format!("{:.*e}", p.max(1) - 1, a),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while d.len() > 1 && d.last() == Some(&b'0') {
        d.pop();
    }
    (d, exp + 1)
}

fn special(v: f64, plus: bool) -> Option<String> {
    if v.is_nan() {
        return Some("NaN".to_string());
    }
    if v.is_infinite() {
        return Some(if v > 0.0 { "+Inf" } else { "-Inf" }.to_string());
    }
    let _ = plus;
    None
}

fn sign(v: f64) -> &'static str {
    if v.is_sign_negative() && v != 0.0 || (v == 0.0 && v.is_sign_negative()) {
        "-"
    } else {
        ""
    }
}

/// `%e` with `prec` digits after the point.
pub fn fmt_e(v: f64, prec: usize, upper: bool) -> String {
    if let Some(s) = special(v, false) {
        return s;
    }
    let (d, dp) = digits(v, Some(prec + 1));
    e_from_digits(sign(v), &d, dp, prec, upper)
}

fn e_from_digits(sign: &str, d: &[u8], dp: i32, prec: usize, upper: bool) -> String {
    let mut out = String::from(sign);
    out.push(d[0] as char);
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(*d.get(i).unwrap_or(&b'0') as char);
        }
    }
    let exp = if d == [b'0'] { 0 } else { dp - 1 };
    out.push(if upper { 'E' } else { 'e' });
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
    out
}

fn f_from_digits(sign: &str, d: &[u8], dp: i32, decimals: usize) -> String {
    let mut out = String::from(sign);
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(*d.get(i).unwrap_or(&b'0') as char);
        }
    } else {
        out.push('0');
    }
    if decimals > 0 {
        out.push('.');
        for i in 0..decimals as i32 {
            let idx = dp + i;
            let c = if idx < 0 {
                b'0'
            } else {
                *d.get(idx as usize).unwrap_or(&b'0')
            };
            out.push(c as char);
        }
    }
    out
}

/// `%f` with `prec` decimals.
pub fn fmt_f(v: f64, prec: usize) -> String {
    if let Some(s) = special(v, false) {
        return s;
    }
    let s = format!("{:.*}", prec, v.abs());
    format!("{}{}", sign(v), s)
}

/// `%g` (shortest when `prec` is `None`), as Go's strconv decides between
/// fixed and exponent notation.
pub fn fmt_g(v: f64, prec: Option<usize>, upper: bool) -> String {
    if let Some(s) = special(v, false) {
        return s;
    }
    let prec = prec.map(|p| p.max(1));
    let (d, dp) = digits(v, prec);
    let nd = d.len() as i32;
    let shortest = prec.is_none();
    let p = prec.map(|p| p as i32).unwrap_or(nd);
    let mut eprec = p;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    if shortest {
        eprec = 6;
    }
    let exp = dp - 1;
    if exp < -4 || exp >= eprec {
        let p2 = if p > nd { nd } else { p };
        return e_from_digits(sign(v), &d, dp, (p2 - 1).max(0) as usize, upper);
    }
    let p2 = if p > dp { nd } else { p };
    f_from_digits(sign(v), &d, dp, (p2 - dp).max(0) as usize)
}

/// Go's `%v` of a template value.
pub fn value_v(v: &TValue) -> String {
    match v {
        TValue::Nil => "<nil>".to_string(),
        TValue::Bool(b) => b.to_string(),
        TValue::Int(i) => i.to_string(),
        TValue::Float(f) => float_v(*f),
        TValue::Str(s) => s.clone(),
        TValue::Map(m) => {
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{}", value_v(v))).collect();
            format!("map[{}]", parts.join(" "))
        }
        TValue::List(l) => {
            let parts: Vec<String> = l.iter().map(value_v).collect();
            format!("[{}]", parts.join(" "))
        }
        TValue::Sample(s) => {
            let parts: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            format!("{{map[{}] {}}}", parts.join(" "), float_v(s.value))
        }
        // KV and Pairs print through their String methods.
        TValue::Kv(m) => pairs_string(&sorted_pairs(m)),
        TValue::Pairs(p) => pairs_string(p),
        TValue::Alerts(l) => {
            let parts: Vec<String> = l.iter().map(value_v).collect();
            format!("[{}]", parts.join(" "))
        }
        TValue::Time(t) => gotime::format(gotime::GO_DEFAULT_LAYOUT, t),
        TValue::Html(s) => s.clone(),
    }
}

/// Alertmanager's `Pairs.String()`: `a=b, c=d`.
fn pairs_string(p: &[(String, String)]) -> String {
    let parts: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.join(", ")
}

/// Go's type name of a value, for `%!verb(type=value)`.
fn go_type(v: &TValue) -> &'static str {
    match v {
        TValue::Nil => "<nil>",
        TValue::Bool(_) => "bool",
        TValue::Int(_) => "int",
        TValue::Float(_) => "float64",
        TValue::Str(_) => "string",
        TValue::Map(_) => "map[string]string",
        TValue::List(_) => "template.queryResult",
        TValue::Sample(_) => "*template.sample",
        TValue::Kv(_) => "template.KV",
        TValue::Pairs(_) => "template.Pairs",
        TValue::Alerts(_) => "template.Alerts",
        TValue::Time(_) => "time.Time",
        TValue::Html(_) => "template.HTML",
    }
}

#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    space: bool,
    zero: bool,
    sharp: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[TValue]) -> String {
    let mut out = String::new();
    let mut argi = 0usize;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                '#' => spec.sharp = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = read_num(&mut chars, args, &mut argi);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.prec = Some(read_num(&mut chars, args, &mut argi).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argi += 1;
        out.push_str(&format_one(verb, &spec, arg));
    }
    if argi < args.len() {
        let extra: Vec<String> = args[argi..]
            .iter()
            .map(|a| format!("{}={}", go_type(a), value_v(a)))
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

fn read_num(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    args: &[TValue],
    argi: &mut usize,
) -> Option<usize> {
    if chars.peek() == Some(&'*') {
        chars.next();
        let v = match args.get(*argi) {
            Some(TValue::Int(i)) => Some((*i).max(0) as usize),
            _ => None,
        };
        *argi += 1;
        return v;
    }
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = Some(
            n.unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(d as usize)
                .min(1_000),
        );
        chars.next();
    }
    n
}

fn format_one(verb: char, spec: &Spec, arg: &TValue) -> String {
    let bad = || format!("%!{verb}({}={})", go_type(arg), value_v(arg));
    let body = match (verb, arg) {
        ('v', TValue::Float(f)) => return pad_num(float_g_spec(*f, spec, None, false), spec),
        ('v', TValue::Int(i)) | ('d', TValue::Int(i)) => return pad_num(int_sign(*i, spec), spec),
        ('v', other) => value_v(other),
        ('s', TValue::Str(s)) => match spec.prec {
            Some(p) => s.chars().take(p).collect(),
            None => s.clone(),
        },
        ('s', TValue::Html(s)) => s.clone(),
        (
            's',
            TValue::Map(_)
            | TValue::List(_)
            | TValue::Sample(_)
            | TValue::Bool(_)
            | TValue::Kv(_)
            | TValue::Pairs(_)
            | TValue::Alerts(_)
            | TValue::Time(_),
        ) => value_v(arg),
        ('q', TValue::Str(s)) => format!("{s:?}"),
        ('t', TValue::Bool(b)) => b.to_string(),
        ('f' | 'F', TValue::Float(f)) => {
            return pad_num(with_sign(fmt_f(*f, spec.prec.unwrap_or(6)), *f, spec), spec);
        }
        ('e' | 'E', TValue::Float(f)) => {
            return pad_num(
                with_sign(fmt_e(*f, spec.prec.unwrap_or(6), verb == 'E'), *f, spec),
                spec,
            );
        }
        ('g' | 'G', TValue::Float(f)) => {
            return pad_num(float_g_spec(*f, spec, spec.prec, verb == 'G'), spec);
        }
        ('x', TValue::Int(i)) => return pad_num(radix(*i, 16, false, spec), spec),
        ('X', TValue::Int(i)) => return pad_num(radix(*i, 16, true, spec), spec),
        ('o', TValue::Int(i)) => return pad_num(radix(*i, 8, false, spec), spec),
        ('b', TValue::Int(i)) => return pad_num(radix(*i, 2, false, spec), spec),
        ('c', TValue::Int(i)) => char::from_u32(*i as u32)
            .map(String::from)
            .unwrap_or_else(|| "\u{fffd}".into()),
        ('x', TValue::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
        ('X', TValue::Str(s)) => s.bytes().map(|b| format!("{b:02X}")).collect(),
        _ => bad(),
    };
    pad(body, spec)
}

fn float_g_spec(f: f64, spec: &Spec, prec: Option<usize>, upper: bool) -> String {
    with_sign(fmt_g(f, prec, upper), f, spec)
}

fn with_sign(s: String, v: f64, spec: &Spec) -> String {
    if v.is_nan() || s.starts_with('-') || s.starts_with('+') {
        return s;
    }
    if spec.plus {
        format!("+{s}")
    } else if spec.space {
        format!(" {s}")
    } else {
        s
    }
}

fn int_sign(i: i64, spec: &Spec) -> String {
    let s = i.to_string();
    if i >= 0 && spec.plus {
        format!("+{s}")
    } else if i >= 0 && spec.space {
        format!(" {s}")
    } else {
        s
    }
}

fn radix(i: i64, base: u32, upper: bool, spec: &Spec) -> String {
    let neg = i < 0;
    let u = i.unsigned_abs();
    let mut s = match base {
        16 if upper => format!("{u:X}"),
        16 => format!("{u:x}"),
        8 => format!("{u:o}"),
        _ => format!("{u:b}"),
    };
    if spec.sharp {
        s = match base {
            16 if upper => format!("0X{s}"),
            16 => format!("0x{s}"),
            8 => format!("0{s}"),
            _ => s,
        };
    }
    if neg { format!("-{s}") } else { s }
}

fn pad(s: String, spec: &Spec) -> String {
    let Some(w) = spec.width else { return s };
    let n = s.chars().count();
    if n >= w {
        return s;
    }
    let fill = " ".repeat(w - n);
    if spec.minus { s + &fill } else { fill + &s }
}

/// Numbers pad with zeros after the sign when `0` is given.
fn pad_num(s: String, spec: &Spec) -> String {
    let Some(w) = spec.width else { return s };
    let n = s.chars().count();
    if n >= w || !spec.zero || spec.minus || s.ends_with("Inf") || s == "NaN" {
        return pad(s, spec);
    }
    let (sign, digits) = match s.chars().next() {
        Some(c @ ('-' | '+' | ' ')) => (c.to_string(), s[1..].to_string()),
        _ => (String::new(), s.clone()),
    };
    format!("{sign}{}{digits}", "0".repeat(w - n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v_matches_go() {
        assert_eq!(float_v(1.0), "1");
        assert_eq!(float_v(0.05), "0.05");
        assert_eq!(float_v(123456.0), "123456");
        assert_eq!(float_v(1e6), "1e+06");
        assert_eq!(float_v(1234567.0), "1.234567e+06");
        assert_eq!(float_v(0.0001), "0.0001");
        assert_eq!(float_v(0.00001), "1e-05");
        assert_eq!(float_v(-2.5), "-2.5");
        assert_eq!(float_v(f64::INFINITY), "+Inf");
        assert_eq!(float_v(f64::NAN), "NaN");
        assert_eq!(float_v(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn g4_matches_go() {
        let g4 = |v| fmt_g(v, Some(4), false);
        assert_eq!(g4(1.5), "1.5");
        assert_eq!(g4(100.0), "100");
        assert_eq!(g4(100000.0), "1e+05");
        assert_eq!(g4(1234.5678), "1235");
        assert_eq!(g4(0.012345), "0.01235");
        assert_eq!(g4(0.0), "0");
        assert_eq!(g4(12345.0), "1.234e+04");
    }

    #[test]
    fn printf_verbs() {
        let f = |x: f64| TValue::Float(x);
        assert_eq!(sprintf("%.2f%%", &[f(12.345)]), "12.35%");
        assert_eq!(sprintf("%d items", &[TValue::Int(3)]), "3 items");
        assert_eq!(
            sprintf("%5.1f|%-6s|", &[f(3.25159), TValue::Str("ab".into())]),
            "  3.3|ab    |"
        );
        assert_eq!(sprintf("%e", &[f(123456.0)]), "1.234560e+05");
        assert_eq!(sprintf("%d", &[f(1.5)]), "%!d(float64=1.5)");
        assert_eq!(sprintf("%s %s", &[TValue::Str("a".into())]), "a %!s(MISSING)");
        assert_eq!(sprintf("%v", &[f(0.5), TValue::Int(1)]), "0.5%!(EXTRA int=1)");
        assert_eq!(sprintf("%05.1f", &[f(-2.0)]), "-02.0");
        assert_eq!(sprintf("%q", &[TValue::Str("a\"b".into())]), "\"a\\\"b\"");
    }
}
