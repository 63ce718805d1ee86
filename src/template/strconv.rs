//! Go's `strconv` number parsing, as templates and test files convert
//! strings to floats.

/// Go's `strconv.ParseFloat` for the strings templates convert.
pub fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => t.replace('_', "").parse().ok(),
    }
}
