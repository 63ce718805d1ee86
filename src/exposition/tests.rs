//! Parser-level unit tests: one per grammar rule of each format, plus the
//! positions and wording of errors.

use std::borrow::Cow;

use super::*;
use crate::model::MetricType;

fn entries(input: &str, format: Format) -> Result<Vec<Entry<'_>>, ParseError> {
    Parser::new(input.as_bytes(), format).collect()
}

fn samples(input: &str, format: Format) -> Vec<ParsedSample<'_>> {
    entries(input, format)
        .unwrap_or_else(|e| panic!("{e}\n--- input ---\n{input}"))
        .into_iter()
        .filter_map(|e| match e {
            Entry::Sample(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn text(input: &str) -> Vec<ParsedSample<'_>> {
    samples(input, Format::PrometheusText)
}

fn om(input: &str) -> Vec<ParsedSample<'_>> {
    samples(input, Format::OpenMetrics)
}

fn error(input: &str, format: Format) -> String {
    match entries(input, format) {
        Ok(e) => panic!("expected an error, parsed {e:?}"),
        Err(e) => e.to_string(),
    }
}

fn text_error(input: &str) -> String {
    error(input, Format::PrometheusText)
}

fn om_error(input: &str) -> String {
    error(input, Format::OpenMetrics)
}

fn labels<'a>(s: &'a ParsedSample<'_>) -> Vec<(&'a str, &'a str)> {
    s.labels.iter().map(|(n, v)| (n.as_ref(), v.as_ref())).collect()
}

// ---- text format ----

#[test]
fn text_simple_samples() {
    let s = text("up 1\nnode_load1{instance=\"a:9100\",job=\"node\"} 0.25 1395066363000\n");
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].name, "up");
    assert!(s[0].labels.is_empty());
    assert_eq!(s[0].value, 1.0);
    assert_eq!(s[0].timestamp_ms, None);
    assert_eq!(s[1].name, "node_load1");
    assert_eq!(labels(&s[1]), [("instance", "a:9100"), ("job", "node")]);
    assert_eq!(s[1].value, 0.25);
    assert_eq!(s[1].timestamp_ms, Some(1_395_066_363_000));
}

#[test]
fn text_borrows_unless_escaped() {
    let s = text("m{a=\"plain\",b=\"x\\\"y\"} 1\n");
    assert!(matches!(s[0].name, Cow::Borrowed(_)));
    assert!(matches!(s[0].labels[0].1, Cow::Borrowed("plain")));
    assert!(matches!(&s[0].labels[1].1, Cow::Owned(v) if v == "x\"y"));
}

#[test]
fn text_comments_help_and_type() {
    let input = "# a free comment\n#no space comment\n# HELP m Some \\\\ help\\nsecond \\\" line\n# TYPE m counter\nm 3\n";
    let e = entries(input, Format::PrometheusText).unwrap();
    assert_eq!(e.len(), 3);
    assert_eq!(
        e[0],
        Entry::Help {
            family: "m".into(),
            text: "Some \\ help\nsecond \\\" line".into()
        }
    );
    assert_eq!(
        e[1],
        Entry::Type {
            family: "m".into(),
            kind: MetricType::Counter
        }
    );
    let Entry::Sample(s) = &e[2] else { panic!() };
    assert_eq!(s.metric_type, MetricType::Counter);
}

#[test]
fn text_help_keeps_text_after_one_separator() {
    let e = entries(
        "# HELP m  two leading spaces \n# HELP\tn\ttab\n# HELP o\n",
        Format::PrometheusText,
    )
    .unwrap();
    assert_eq!(
        e[0],
        Entry::Help {
            family: "m".into(),
            text: " two leading spaces ".into()
        }
    );
    assert_eq!(
        e[1],
        Entry::Help {
            family: "n".into(),
            text: "tab".into()
        }
    );
    assert_eq!(
        e[2],
        Entry::Help {
            family: "o".into(),
            text: "".into()
        }
    );
}

#[test]
fn text_keyword_without_blank_is_a_comment() {
    // "# HELPER" and "#HELP" are comments, not metadata.
    assert!(
        entries("# HELPER x\n#HELP x y\n# TYPEx\n", Format::PrometheusText)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn text_types() {
    for (word, kind) in [
        ("counter", MetricType::Counter),
        ("gauge", MetricType::Gauge),
        ("histogram", MetricType::Histogram),
        ("summary", MetricType::Summary),
        ("untyped", MetricType::Unknown),
    ] {
        let input = format!("# TYPE m {word}\n");
        let e = entries(&input, Format::PrometheusText).unwrap();
        assert_eq!(
            e,
            [Entry::Type {
                family: "m".into(),
                kind
            }]
        );
    }
    assert_eq!(
        text_error("# TYPE m info\n"),
        "line 1, column 10: unknown metric type \"info\" (the text format knows counter, gauge, histogram, summary and untyped)"
    );
}

#[test]
fn text_label_value_escapes_and_commas() {
    let s = text(r#"m{path="C:\\dir\\",quote="say \"hi\"",nl="a\nb",comma="a,b,c",tab="\t",brace="}{"} 1"#);
    assert_eq!(
        labels(&s[0]),
        [
            ("path", "C:\\dir\\"),
            ("quote", "say \"hi\""),
            ("nl", "a\nb"),
            ("comma", "a,b,c"),
            // Unknown escapes stay as written, as in Prometheus.
            ("tab", "\\t"),
            ("brace", "}{"),
        ]
    );
}

#[test]
fn text_raw_line_break_inside_label_value() {
    // The text format's lexer allows it; the line count keeps up.
    let s = text("m{a=\"x\ny\"} 1\n");
    assert_eq!(labels(&s[0]), [("a", "x\ny")]);
    let e = text_error("m{a=\"x\ny\"} 1\nbad{\n");
    assert!(e.starts_with("line 3, "), "{e}");
}

#[test]
fn text_trailing_comma_empty_braces_and_whitespace() {
    let s =
        text("a{x=\"1\",} 1\nb{} 2\n \t c { x = \"1\" , y = \"2\" , } \t 3 \t 42 \t \n\n\t\nd{x=\"1\"}4\n");
    assert_eq!(s.len(), 4);
    assert_eq!(labels(&s[0]), [("x", "1")]);
    assert!(s[1].labels.is_empty());
    assert_eq!(s[2].name, "c");
    assert_eq!(labels(&s[2]), [("x", "1"), ("y", "2")]);
    assert_eq!((s[2].value, s[2].timestamp_ms), (3.0, Some(42)));
    assert_eq!(s[3].value, 4.0);
}

#[test]
fn text_missing_comma_between_labels_is_accepted_like_prometheus() {
    let s = text("m{a=\"1\" b=\"2\"} 1\n");
    assert_eq!(labels(&s[0]), [("a", "1"), ("b", "2")]);
}

#[test]
fn text_last_line_without_newline() {
    let s = text("a 1\nb 2");
    assert_eq!(s.len(), 2);
    assert_eq!(s[1].value, 2.0);
}

#[test]
fn text_special_values() {
    let s = text("a +Inf\nb -Inf\nc NaN\nd nan\ne -inf\nf 1e-400\ng -0\nh Infinity\n");
    assert_eq!(s[0].value, f64::INFINITY);
    assert_eq!(s[1].value, f64::NEG_INFINITY);
    assert_eq!(s[2].value.to_bits(), NORMAL_NAN.to_bits());
    assert!(s[3].value.is_nan());
    assert_eq!(s[4].value, f64::NEG_INFINITY);
    assert_eq!(s[5].value, 0.0);
    assert_eq!(s[6].value.to_bits(), (-0.0f64).to_bits());
    assert_eq!(s[7].value, f64::INFINITY);
}

#[test]
fn text_bad_values_and_timestamps() {
    assert_eq!(
        text_error("m abc\n"),
        "line 1, column 3: invalid value \"abc\": not a number"
    );
    assert_eq!(
        text_error("m 0x1p3\n"),
        "line 1, column 3: invalid value \"0x1p3\": not a number"
    );
    assert_eq!(
        text_error("m 1_000\n"),
        "line 1, column 3: invalid value \"1_000\": not a number"
    );
    assert_eq!(
        text_error("m 1e999\n"),
        "line 1, column 3: invalid value \"1e999\": out of range"
    );
    assert_eq!(
        text_error("m 1\r\n"),
        "line 1, column 3: invalid value \"1\\r\": not a number (lines must end with \\n, not \\r\\n)"
    );
    assert_eq!(
        text_error("m 1 -5\n"),
        "line 1, column 5: expected a timestamp (integer milliseconds) or the end of the line after the value, found '-'"
    );
    assert_eq!(
        text_error("m 1 1.5\n"),
        "line 1, column 6: expected the end of the line after the timestamp, found '.'"
    );
    assert_eq!(
        text_error("m 1 99999999999999999999\n"),
        "line 1, column 5: invalid timestamp \"99999999999999999999\": out of range"
    );
    assert_eq!(
        text_error("m\n"),
        "line 1, column 2: expected a value, found end of line"
    );
    assert_eq!(
        text_error("m{a=\"1\"}"),
        "line 1, column 9: expected a value, found end of input"
    );
}

#[test]
fn text_label_errors_name_line_column_and_cause() {
    assert_eq!(
        text_error("ok 1\n\n# c\nup{job} 1\n"),
        "line 4, column 7: expected '=' after label name \"job\", found '}'"
    );
    assert_eq!(
        text_error("up{job=node} 1\n"),
        "line 1, column 8: expected '\"' to start the value of label \"job\", found 'n'"
    );
    assert_eq!(
        text_error("up{job=\"a\",job=\"b\"} 1\n"),
        "line 1, column 12: duplicate label name \"job\""
    );
    assert_eq!(
        text_error("up{1a=\"b\"} 1\n"),
        "line 1, column 4: expected a label name or '}', found '1'"
    );
    assert_eq!(
        text_error("up{a:b=\"c\"} 1\n"),
        "line 1, column 5: expected '=' after label name \"a\", found ':'"
    );
    assert_eq!(
        text_error("up{,} 1\n"),
        "line 1, column 4: expected a label name or '}', found ','"
    );
    assert_eq!(
        text_error("up{a=\"1\",,b=\"2\"} 1\n"),
        "line 1, column 10: expected a label name or '}', found ','"
    );
    assert_eq!(
        text_error("up{a=\"1\"\n"),
        "line 1, column 9: expected a label name or '}', found end of line"
    );
    assert_eq!(
        text_error("up{a=\"1\""),
        "line 1, column 3: label list has no closing '}'"
    );
    assert_eq!(
        text_error("up{a=\"1"),
        "line 1, column 6: label value has no closing '\"'"
    );
    assert_eq!(
        text_error("up{__name__=\"x\"} 1\n"),
        "line 1, column 4: label \"__name__\" is not allowed: give the metric name before '{' or as a quoted string"
    );
    assert_eq!(
        text_error("up{a=\"\\\nb\"} 1\n"),
        "line 1, column 7: label value has a backslash at the end of a line"
    );
    assert_eq!(
        text_error("up{a=\"\u{e9}\u{e9}\"} x\n"),
        "line 1, column 12: invalid value \"x\": not a number"
    );
}

#[test]
fn text_invalid_names() {
    assert_eq!(
        text_error("1up 1\n"),
        "line 1, column 1: expected a metric name, '{' or '#' at the start of a line, found '1'"
    );
    assert_eq!(
        text_error("my-metric 1\n"),
        "line 1, column 3: invalid value \"-metric\": not a number"
    );
    assert_eq!(
        text_error("m\u{e9}tric 1\n"),
        "line 1, column 2: invalid value \"\u{e9}tric\": not a number"
    );
    assert_eq!(
        text_error("# TYPE 1m counter\n"),
        "line 1, column 8: expected a metric name after # TYPE, found '1'"
    );
}

#[test]
fn text_quoted_utf8_names() {
    let s = text(
        "{\"my.metric\", \"label.x\"=\"v\", plain=\"w\"} 1\n{a=\"1\", \"other.metric\"} 2\n{\"esc\\\"aped\"} 3\n",
    );
    assert_eq!(s[0].name, "my.metric");
    assert_eq!(labels(&s[0]), [("label.x", "v"), ("plain", "w")]);
    assert_eq!(s[1].name, "other.metric");
    assert_eq!(labels(&s[1]), [("a", "1")]);
    assert_eq!(s[2].name, "esc\"aped");
    let e = entries(
        "# HELP \"my.metric\" dotted\n# TYPE \"my.metric\" gauge\n{\"my.metric\"} 1\n",
        Format::PrometheusText,
    )
    .unwrap();
    assert_eq!(
        e[1],
        Entry::Type {
            family: "my.metric".into(),
            kind: MetricType::Gauge
        }
    );
    let Entry::Sample(s) = &e[2] else { panic!() };
    assert_eq!(s.metric_type, MetricType::Gauge);
}

#[test]
fn text_quoted_name_errors() {
    assert_eq!(
        text_error("m{\"other\"} 1\n"),
        "line 1, column 3: metric name given twice: \"m\" and \"other\""
    );
    assert_eq!(
        text_error("{a=\"1\"} 1\n"),
        "line 1, column 1: metric name missing: put it before '{' or as a quoted string inside the braces"
    );
    assert_eq!(text_error("{\"\"} 1\n"), "line 1, column 2: metric name is empty");
    assert_eq!(
        text_error("{\"m\", \"\"=\"x\"} 1\n"),
        "line 1, column 7: label name is empty"
    );
}

#[test]
fn text_le_and_quantile_are_normalised_for_their_types() {
    let input = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_bucket{le=\"0.25\"} 1\n\
                 # TYPE s summary\ns{quantile=\"0\"} 1\ns{quantile=\"0.5\"} 1\n\
                 # TYPE g gauge\ng{le=\"1\"} 1\n";
    let s = text(input);
    assert_eq!(labels(&s[0]), [("le", "1.0")]);
    assert_eq!(labels(&s[1]), [("le", "+Inf")]);
    assert!(matches!(s[2].labels[0].1, Cow::Borrowed("0.25")));
    assert_eq!(labels(&s[3]), [("quantile", "0.0")]);
    assert_eq!(labels(&s[4]), [("quantile", "0.5")]);
    // Not a histogram: left alone.
    assert_eq!(labels(&s[5]), [("le", "1")]);
}

#[test]
fn text_sample_types_follow_family_membership() {
    let input = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\nother 1\n\
                 # TYPE c_total counter\nc_total 5\n# TYPE s summary\ns 1\ns_sum 2\ns_count 3\n";
    let mut p = Parser::new(input.as_bytes(), Format::PrometheusText);
    let mut seen = Vec::new();
    while let Some(e) = p.next() {
        if let Entry::Sample(s) = e.unwrap() {
            seen.push((
                s.name.into_owned(),
                s.metric_type,
                p.current_family().map(|(n, _)| n.to_string()),
            ));
        }
    }
    let types: Vec<MetricType> = seen.iter().map(|s| s.1).collect();
    use MetricType::*;
    assert_eq!(
        types,
        [
            Histogram, Histogram, Histogram, Unknown, Counter, Summary, Summary, Summary
        ]
    );
    assert_eq!(seen[3].2.as_deref(), Some("h"));
}

#[test]
fn text_help_then_type_is_one_family() {
    let mut p = Parser::new(
        b"# HELP x h\n# TYPE x gauge\n# HELP y h\n",
        Format::PrometheusText,
    );
    p.next();
    assert_eq!(p.current_family(), Some(("x", MetricType::Unknown)));
    p.next();
    assert_eq!(p.current_family(), Some(("x", MetricType::Gauge)));
    p.next();
    assert_eq!(p.current_family(), Some(("y", MetricType::Unknown)));
}

#[test]
fn text_eof_comment_is_just_a_comment() {
    assert_eq!(text("a 1\n# EOF\nb 2\n").len(), 2);
}

#[test]
fn stops_after_first_error() {
    let mut p = Parser::new(b"a 1\nb x\nc 3\n", Format::PrometheusText);
    assert!(matches!(p.next(), Some(Ok(Entry::Sample(_)))));
    assert!(matches!(p.next(), Some(Err(_))));
    assert!(p.next().is_none());
    assert!(p.next().is_none());
}

#[test]
fn empty_and_blank_text_bodies() {
    assert!(text("").is_empty());
    assert!(text("\n\n  \t\n").is_empty());
}

// ---- OpenMetrics ----

#[test]
fn om_requires_eof() {
    assert_eq!(om("# EOF\n").len(), 0);
    assert_eq!(om("# EOF").len(), 0);
    assert_eq!(
        om_error("a 1\n"),
        "line 2, column 1: unexpected end of input: an OpenMetrics body must end with \"# EOF\""
    );
    assert_eq!(
        om_error(""),
        "line 1, column 1: unexpected end of input: an OpenMetrics body must end with \"# EOF\""
    );
    assert_eq!(
        om_error("a 1"),
        "line 1, column 4: unexpected end of input: an OpenMetrics body must end with \"# EOF\""
    );
    assert_eq!(
        om_error("# EOF\n\n"),
        "line 2, column 1: unexpected data after \"# EOF\""
    );
    assert_eq!(
        om_error("# EOF\na 1\n"),
        "line 2, column 1: unexpected data after \"# EOF\""
    );
    assert_eq!(
        om_error("# EOF \n"),
        "line 1, column 6: unexpected data after \"# EOF\""
    );
}

#[test]
fn om_metadata_and_types() {
    let input = "# TYPE a counter\n# HELP a Help with \\\"quotes\\\" and \\\\ and \\n.\n# UNIT a_seconds seconds\n\
                 # TYPE b gaugehistogram\n# TYPE c info\n# TYPE d stateset\n# TYPE e unknown\n# TYPE f summary\n\
                 # TYPE g histogram\n# TYPE h gauge\n# EOF\n";
    let e = entries(input, Format::OpenMetrics).unwrap();
    assert_eq!(
        e[1],
        Entry::Help {
            family: "a".into(),
            text: "Help with \"quotes\" and \\ and \n.".into()
        }
    );
    assert_eq!(
        e[2],
        Entry::Unit {
            family: "a_seconds".into(),
            unit: "seconds".into()
        }
    );
    let kinds: Vec<MetricType> = e
        .iter()
        .filter_map(|e| match e {
            Entry::Type { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    use MetricType::*;
    assert_eq!(
        kinds,
        [
            Counter,
            GaugeHistogram,
            Info,
            StateSet,
            Unknown,
            Summary,
            Histogram,
            Gauge
        ]
    );
}

#[test]
fn om_metadata_errors() {
    assert_eq!(
        om_error("# TYPE a untyped\n# EOF\n"),
        "line 1, column 10: unknown metric type \"untyped\" (OpenMetrics knows counter, gauge, histogram, gaugehistogram, summary, info, stateset and unknown)"
    );
    assert_eq!(
        om_error("# UNIT a_bytes seconds\n# EOF\n"),
        "line 1, column 16: unit \"seconds\" is not a suffix of metric name \"a_bytes\""
    );
    assert_eq!(
        om_error("# UNIT aseconds seconds\n# EOF\n"),
        "line 1, column 17: unit \"seconds\" is not a suffix of metric name \"aseconds\""
    );
    assert_eq!(
        om_error("# a comment\n# EOF\n"),
        "line 1, column 1: unknown comment line: OpenMetrics allows only \"# HELP\", \"# TYPE\", \"# UNIT\" and \"# EOF\""
    );
    assert_eq!(
        om_error("# HELP a\n# EOF\n"),
        "line 1, column 9: expected ' ' after the metric name in # HELP, found end of line"
    );
    assert_eq!(
        om_error("# TYPE  a counter\n# EOF\n"),
        "line 1, column 8: expected a metric name after # TYPE, found ' '"
    );
    assert!(om("# UNIT a \n# HELP a \n# EOF\n").is_empty());
}

#[test]
fn om_samples_timestamps_are_float_seconds() {
    let s = om("a 1 1520879607.789\nb{x=\"y\"} 2.5 1700215884.373\nc 3 0\n# EOF\n");
    assert_eq!(s[0].timestamp_ms, Some(1_520_879_607_789));
    assert_eq!(s[1].timestamp_ms, Some(1_700_215_884_373));
    assert_eq!(s[2].timestamp_ms, Some(0));
    assert_eq!(
        om_error("a 1 NaN\n# EOF\n"),
        "line 1, column 5: invalid timestamp \"NaN\": not finite"
    );
    assert_eq!(
        om_error("a 1 1e99\n# EOF\n"),
        "line 1, column 5: invalid timestamp \"1e99\": out of range"
    );
}

#[test]
fn om_whitespace_is_strict() {
    assert_eq!(
        om_error("a  1\n# EOF\n"),
        "line 1, column 3: expected a value, found ' '"
    );
    assert_eq!(
        om_error("a 1 \n# EOF\n"),
        "line 1, column 5: expected a timestamp, found end of line"
    );
    assert_eq!(
        om_error("a{x=\"1\", y=\"2\"} 1\n# EOF\n"),
        "line 1, column 9: expected a label name or '}', found ' '"
    );
    assert_eq!(
        om_error("a\t1\n# EOF\n"),
        "line 1, column 2: expected ' ' before the value, found tab"
    );
    assert_eq!(
        om_error("a 1\n\nb 1\n# EOF\n"),
        "line 2, column 1: blank lines are not allowed in OpenMetrics"
    );
    assert_eq!(
        om_error(" a 1\n# EOF\n"),
        "line 1, column 1: expected a metric name, '{' or '#' at the start of a line, found ' '"
    );
    assert_eq!(
        om_error("a{x=\"1\" y=\"2\"} 1\n# EOF\n"),
        "line 1, column 8: expected ',' or '}' after a label value, found ' '"
    );
    assert_eq!(
        om_error("a{x=\"line\nbreak\"} 1\n# EOF\n"),
        "line 1, column 10: label value contains a raw line break (write it as \\n) or has no closing '\"'"
    );
}

#[test]
fn om_trailing_comma_and_quoted_names() {
    let s = om("a{x=\"1\",} 1\n{\"my.metric\",\"l.x\"=\"v\"} 2\n# EOF\n");
    assert_eq!(labels(&s[0]), [("x", "1")]);
    assert_eq!(s[1].name, "my.metric");
    assert_eq!(labels(&s[1]), [("l.x", "v")]);
}

#[test]
fn om_exemplars_come_with_their_sample() {
    let input = "# TYPE foo histogram\n\
                 foo_bucket{le=\"0.1\"} 8 # {trace_id=\"abc\"} 0.054\n\
                 foo_bucket{le=\"+Inf\"} 17 # {trace_id=\"def\",\"span.id\"=\"x\"} 1.0 1520879607.789\n\
                 foo_bucket{le=\"1\"} 9 1520879607.789 # {} 1\n\
                 # TYPE bar counter\n\
                 bar_total 3 # {a=\"b\"} 1 1520879607.789\n\
                 # EOF\n";
    let s = om(input);
    assert_eq!(s.len(), 4);
    assert_eq!(s[0].value, 8.0);
    assert_eq!(s[1].value, 17.0);
    assert_eq!(s[1].timestamp_ms, None);
    assert_eq!(labels(&s[2]), [("le", "1.0")]);
    assert_eq!(s[2].timestamp_ms, Some(1_520_879_607_789));
    assert_eq!(s[3].metric_type, MetricType::Counter);
    let e0 = s[0].exemplar.as_ref().expect("exemplar of the first bucket");
    assert_eq!(e0.labels, [("trace_id".into(), "abc".into())]);
    assert_eq!((e0.value, e0.timestamp_ms), (0.054, None));
    let e1 = s[1].exemplar.as_ref().expect("exemplar of the +Inf bucket");
    assert_eq!(e1.labels[1], ("span.id".into(), "x".into()));
    assert_eq!((e1.value, e1.timestamp_ms), (1.0, Some(1_520_879_607_789)));
    let e2 = s[2].exemplar.as_ref().expect("an exemplar without labels");
    assert!(e2.labels.is_empty());
    assert_eq!(
        s[3].exemplar.as_ref().map(|e| e.timestamp_ms),
        Some(Some(1_520_879_607_789))
    );
}

#[test]
fn om_malformed_exemplars_are_errors() {
    let cases = [
        (
            "a 1 # {x=\"y\"}\n# EOF\n",
            "line 1, column 14: expected ' ' before the exemplar value, found end of line",
        ),
        (
            "a 1 # {x=\"y\"} abc\n# EOF\n",
            "line 1, column 15: invalid exemplar value \"abc\": not a number",
        ),
        (
            "a 1 # {x=\"y\"} 1 NaN\n# EOF\n",
            "line 1, column 17: invalid exemplar timestamp \"NaN\": not finite",
        ),
        (
            "a 1 # {x=\"y\"} 1 2 3\n# EOF\n",
            "line 1, column 18: expected the end of the line after the exemplar, found ' '",
        ),
        (
            "a 1 # x\n# EOF\n",
            "line 1, column 4: expected \" # {\" to start an exemplar, found '#'",
        ),
        (
            "a 1 # {\"m\"} 1\n# EOF\n",
            "line 1, column 8: an exemplar's labels cannot include a metric name",
        ),
        (
            "a 1 # {x=y} 1\n# EOF\n",
            "line 1, column 10: expected '\"' to start the value of label \"x\", found 'y'",
        ),
        (
            "a 1 # {x=\"y\"} 1",
            "line 1, column 16: unexpected end of input: an OpenMetrics body must end with \"# EOF\"",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(om_error(input), want, "{input:?}");
    }
}

#[test]
fn om_created_series_are_kept_by_default_and_skippable() {
    let input = "# TYPE c counter\nc_total 1\nc_created 1520430000.123\n\
                 # TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 2\nh_created 1520430000\n\
                 # TYPE s summary\ns_count 1\ns_sum 2\ns_created 1520430000\n\
                 # TYPE g gauge\ng_created 5\n# EOF\n";
    let names: Vec<String> = Parser::new(input.as_bytes(), Format::OpenMetrics)
        .keep_created_series(false)
        .filter_map(|e| match e.unwrap() {
            Entry::Sample(s) => Some(s.name.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        names,
        [
            "c_total",
            "h_bucket",
            "h_count",
            "h_sum",
            "s_count",
            "s_sum",
            "g_created"
        ]
    );

    // By default they are kept, as Prometheus stores them.
    let kept: Vec<String> = om(input).iter().map(|s| s.name.to_string()).collect();
    assert_eq!(kept.len(), 10);
    // A malformed _created line is still an error even though it is skipped.
    assert!(om_error("# TYPE c counter\nc_created x\n# EOF\n").contains("invalid value \"x\""));
}

#[test]
fn om_suffix_rules_give_types() {
    let input = "# TYPE gh gaugehistogram\ngh_bucket{le=\"1\"} 1\ngh_gcount 1\ngh_gsum 1\n\
                 # TYPE i info\ni_info{v=\"1\"} 1\n# TYPE st stateset\nst{st=\"a\"} 1\n\
                 # TYPE u unknown\nu 1\nloose 1\n# EOF\n";
    let s = om(input);
    use MetricType::*;
    let types: Vec<MetricType> = s.iter().map(|s| s.metric_type).collect();
    assert_eq!(
        types,
        [
            GaugeHistogram,
            GaugeHistogram,
            GaugeHistogram,
            Info,
            StateSet,
            Unknown,
            Unknown
        ]
    );
    // Gauge histograms' le is not normalised (Prometheus only does histograms).
    assert_eq!(labels(&s[0]), [("le", "1")]);
}

#[test]
fn om_value_errors() {
    assert_eq!(
        om_error("a x\n# EOF\n"),
        "line 1, column 3: invalid value \"x\": not a number"
    );
    assert_eq!(
        om_error("a{} \n# EOF\n"),
        "line 1, column 5: expected a value, found end of line"
    );
    assert_eq!(
        om_error("a {x=\"1\"} 1\n# EOF\n"),
        "line 1, column 3: invalid value \"{x=\\\"1\\\"}\": not a number"
    );
}

#[test]
fn errors_after_multibyte_characters_count_columns_in_characters() {
    let e = entries("{\"métrique\", \"é\"=\"ü\" x} 1\n", Format::PrometheusText).unwrap_err();
    assert_eq!((e.line, e.column), (1, 23));
}

#[test]
fn never_panics_on_tricky_fragments() {
    let fragments: &[&[u8]] = &[
        b"{",
        b"}",
        b"\"",
        b"\\",
        b"#",
        b"# ",
        b"# HELP",
        b"# HELP ",
        b"# TYPE x",
        b"# UNIT",
        b"# EOF",
        b"a{",
        b"a{b",
        b"a{b=",
        b"a{b=\"",
        b"a{b=\"\\",
        b"a 1 #",
        b"a 1 # {",
        b"a 1 # {a",
        b"\xff",
        b"\xc3",
        b"{\"",
        b"{\"a\"",
        b"{\"a\",",
        b"a 1 ",
        b"a 1 1 ",
        b"\0",
        b"\r\n",
        b"a 1e",
        b"a 1 # {} ",
        b"a 1 # {} 1 ",
    ];
    for format in [Format::PrometheusText, Format::OpenMetrics] {
        for a in fragments {
            for b in fragments {
                let input = [*a, *b].concat();
                for _ in Parser::new(&input, format) {}
            }
        }
    }
}
