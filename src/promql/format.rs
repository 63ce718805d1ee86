//! Floats as Prometheus's API prints them (Go `strconv.FormatFloat(f, 'f', -1, 64)`):
//! the shortest decimal that round-trips, never in exponent form.

pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    // Rust's `Display` for f64 is the shortest round-tripping form without
    // an exponent, the same digits Go's 'f', -1 gives.
    format!("{v}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(1e21), "1000000000000000000000");
        assert_eq!(format_float(1.5e-7), "0.00000015");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_float(f64::NAN), "NaN");
        assert_eq!(format_float(-0.0), "-0");
    }
}
