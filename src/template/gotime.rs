//! Go's `time.Time.Format`: layouts written as the reference time
//! `Mon Jan 2 15:04:05 MST 2006` (`2006-01-02`, `15:04`, `.000`, `-07:00`,
//! …), as Alertmanager templates use them in `date` and `.StartsAt.Format`;
//! and `time.Duration.String()`, as `toDuration` and `since` print.

use chrono::{DateTime, Datelike, Offset, Timelike};
use chrono_tz::Tz;

/// Go's `time.Time.String()` layout.
pub const GO_DEFAULT_LAYOUT: &str = "2006-01-02 15:04:05.999999999 -0700 MST";

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Formats `t` by a Go layout; text that is not a layout element is copied.
pub fn format(layout: &str, t: &DateTime<Tz>) -> String {
    let mut out = String::with_capacity(layout.len() + 8);
    let b = layout.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = &layout[i..];
        let (n, piece) = element(rest, t);
        if n == 0 {
            let c = rest.chars().next().expect("non-empty");
            out.push(c);
            i += c.len_utf8();
        } else {
            out.push_str(&piece);
            i += n;
        }
    }
    out
}

/// The layout element at the start of `s`: its length and what it prints
/// (0 when `s` starts with plain text).
fn element(s: &str, t: &DateTime<Tz>) -> (usize, String) {
    let month = t.month0() as usize;
    let weekday = t.weekday().num_days_from_monday() as usize;
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    let table = [
        ("January", LONG_MONTHS[month].to_string()),
        ("Jan", LONG_MONTHS[month][..3].to_string()),
        ("Monday", LONG_DAYS[weekday].to_string()),
        ("Mon", LONG_DAYS[weekday][..3].to_string()),
        ("MST", t.format("%Z").to_string()),
        ("2006", format!("{:04}", t.year())),
        ("_2006", format!("_{:04}", t.year())),
        ("002", format!("{:03}", t.ordinal())),
        ("__2", format!("{:>3}", t.ordinal())),
        ("_2", format!("{:>2}", t.day())),
        ("01", format!("{:02}", t.month())),
        ("02", format!("{:02}", t.day())),
        ("03", format!("{hour12:02}")),
        ("04", format!("{:02}", t.minute())),
        ("05", format!("{:02}", t.second())),
        ("06", format!("{:02}", t.year().rem_euclid(100))),
        ("15", format!("{:02}", t.hour())),
        ("PM", if t.hour() >= 12 { "PM" } else { "AM" }.to_string()),
        ("pm", if t.hour() >= 12 { "pm" } else { "am" }.to_string()),
        ("1", t.month().to_string()),
        ("2", t.day().to_string()),
        ("3", hour12.to_string()),
        ("4", t.minute().to_string()),
        ("5", t.second().to_string()),
    ];
    if let Some(z) = zone(s, t) {
        return z;
    }
    if let Some(f) = fraction(s, t) {
        return f;
    }
    for (pat, val) in table {
        if s.starts_with(pat) {
            return (pat.len(), val);
        }
    }
    (0, String::new())
}

/// `-0700`, `-07:00`, `Z07:00`, … (Z forms print `Z` for UTC).
fn zone(s: &str, t: &DateTime<Tz>) -> Option<(usize, String)> {
    const FORMS: [&str; 5] = ["070000", "07:00:00", "0700", "07:00", "07"];
    let z_form = s.starts_with('Z');
    if !z_form && !s.starts_with('-') {
        return None;
    }
    let form = FORMS.iter().find(|f| s[1..].starts_with(**f))?;
    let secs = t.offset().fix().local_minus_utc();
    if z_form && secs == 0 {
        return Some((1 + form.len(), "Z".to_string()));
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, sec) = (a / 3600, (a / 60) % 60, a % 60);
    let text = match *form {
        "070000" => format!("{sign}{h:02}{m:02}{sec:02}"),
        "07:00:00" => format!("{sign}{h:02}:{m:02}:{sec:02}"),
        "0700" => format!("{sign}{h:02}{m:02}"),
        "07:00" => format!("{sign}{h:02}:{m:02}"),
        _ => format!("{sign}{h:02}"),
    };
    Some((1 + form.len(), text))
}

/// `.000` (fixed digits) or `.999` (trailing zeros and, if none are left,
/// the separator dropped); `,` works as the separator too.
fn fraction(s: &str, t: &DateTime<Tz>) -> Option<(usize, String)> {
    let b = s.as_bytes();
    if b.len() < 2 || (b[0] != b'.' && b[0] != b',') || (b[1] != b'0' && b[1] != b'9') {
        return None;
    }
    let digit = b[1];
    let n = b[1..].iter().take_while(|c| **c == digit).count();
    if b.get(1 + n).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let nanos = format!("{:09}", t.nanosecond() % 1_000_000_000);
    let mut digits = nanos[..n.min(9)].to_string();
    if digit == b'9' {
        digits = digits.trim_end_matches('0').to_string();
        if digits.is_empty() {
            return Some((1 + n, String::new()));
        }
    }
    Some((1 + n, format!("{}{digits}", b[0] as char)))
}

/// Go's `time.Duration.String()` of a number of seconds.
pub fn duration_string(secs: f64) -> String {
    let ns = (secs * 1e9).round();
    if ns.abs() >= 9.2e18 || !ns.is_finite() {
        return "2562047h47m16.854775807s".to_string();
    }
    let ns = ns as i64;
    if ns == 0 {
        return "0s".to_string();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1u64)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{sign}{}{unit}", trim_frac(u, div));
    }
    let h = u / 3_600_000_000_000;
    let m = (u / 60_000_000_000) % 60;
    let s = trim_frac(u % 60_000_000_000, 1_000_000_000);
    let mut out = sign.to_string();
    if h > 0 {
        out += &format!("{h}h{m}m");
    } else if m > 0 {
        out += &format!("{m}m");
    }
    out + &format!("{s}s")
}

fn trim_frac(v: u64, div: u64) -> String {
    let whole = v / div;
    let frac = v % div;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = (div as f64).log10() as usize;
    let f = format!("{frac:0digits$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(tz: Tz) -> DateTime<Tz> {
        DateTime::from_timestamp(1_700_000_000, 250_000_000)
            .unwrap()
            .with_timezone(&tz)
    }

    #[test]
    fn reference_layouts() {
        let t = at(chrono_tz::UTC);
        assert_eq!(format(GO_DEFAULT_LAYOUT, &t), "2023-11-14 22:13:20.25 +0000 UTC");
        assert_eq!(format("2006-01-02T15:04:05Z07:00", &t), "2023-11-14T22:13:20Z");
        assert_eq!(format("Mon Jan _2 3:04PM", &t), "Tue Nov 14 10:13PM");
        assert_eq!(
            format("Monday, 02 January 2006 .000", &t),
            "Tuesday, 14 November 2023 .250"
        );
        assert_eq!(format("15:04:05.999", &at(chrono_tz::UTC)), "22:13:20.25");
        let berlin = at(chrono_tz::Europe::Berlin);
        assert_eq!(format("15:04 MST -07:00", &berlin), "23:13 CET +01:00");
        assert_eq!(format("literal text: 2006", &t), "literal text: 2023");
    }

    #[test]
    fn durations_print_as_go_prints_them() {
        assert_eq!(duration_string(3723.5), "1h2m3.5s");
        assert_eq!(duration_string(0.0015), "1.5ms");
        assert_eq!(duration_string(0.0), "0s");
    }
}
