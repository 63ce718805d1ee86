//! Property tests: random families rendered in both formats parse back to
//! exactly what was rendered; arbitrary and mutated bodies never panic.

use proptest::prelude::*;

use super::*;
use crate::model::MetricType;

#[derive(Debug, Clone)]
struct GenSample {
    suffix: &'static str,
    labels: Vec<(String, String)>,
    value: f64,
    timestamp_ms: Option<i64>,
}

#[derive(Debug, Clone)]
struct GenFamily {
    name: String,
    kind: MetricType,
    help: String,
    samples: Vec<GenSample>,
}

fn is_legacy_metric_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && cursor::is_metric_name_start(b[0]) && b.iter().all(|&c| cursor::is_metric_name_char(c))
}

fn is_legacy_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && cursor::is_label_name_start(b[0]) && b.iter().all(|&c| cursor::is_label_name_char(c))
}

/// Strings rich in the characters escaping must get right.
fn tricky_string(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::char::range('a', 'z'),
            1 => any::<char>(),
            1 => prop::sample::select(vec!['\\', '"', '\n', ',', '{', '}', '=', ' ', '\t', '#', 'é', '日', '\r']),
        ],
        0..max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn metric_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}",
        1 => tricky_string(10).prop_filter("non-empty", |s| !s.is_empty()),
    ]
}

fn label_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z_][a-zA-Z0-9_]{0,8}",
        1 => tricky_string(8),
    ]
    // `le`/`quantile` get normalised (tested separately); `__name__` is the
    // metric name.
    .prop_filter("plain label name", |s| {
        !s.is_empty() && s != "le" && s != "quantile" && s != "__name__"
    })
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => any::<f64>(),
        1 => prop::sample::select(vec![
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            f64::from_bits(1),
            -f64::from_bits(0x000f_ffff_ffff_ffff),
            f64::MAX,
            f64::MIN,
        ]),
        2 => (0u32..100_000).prop_map(f64::from),
    ]
}

fn labels() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((label_name(), tricky_string(12)), 0..6).prop_map(|pairs| {
        let mut seen = std::collections::HashSet::new();
        pairs
            .into_iter()
            .filter(|(n, _)| seen.insert(n.clone()))
            .collect()
    })
}

fn family(format: Format) -> impl Strategy<Value = GenFamily> {
    let kinds = match format {
        Format::PrometheusText => vec![
            MetricType::Counter,
            MetricType::Gauge,
            MetricType::Histogram,
            MetricType::Summary,
            MetricType::Unknown,
        ],
        Format::OpenMetrics => vec![
            MetricType::Counter,
            MetricType::Gauge,
            MetricType::Histogram,
            MetricType::GaugeHistogram,
            MetricType::Summary,
            MetricType::Info,
            MetricType::StateSet,
            MetricType::Unknown,
        ],
    };
    let timestamp = match format {
        // The text format has no sign for timestamps.
        Format::PrometheusText => prop::option::of(0i64..=i64::MAX).boxed(),
        Format::OpenMetrics => prop::option::of(-(1i64 << 52)..(1i64 << 52)).boxed(),
    };
    (metric_name(), prop::sample::select(kinds), tricky_string(20)).prop_flat_map(
        move |(name, kind, help)| {
            let mut suffixes: Vec<&'static str> = vec![""];
            suffixes.extend(kind.sample_suffixes());
            let sample = (
                prop::sample::select(suffixes),
                labels(),
                value(),
                timestamp.clone(),
            )
                .prop_map(|(suffix, labels, value, timestamp_ms)| GenSample {
                    suffix,
                    labels,
                    value,
                    timestamp_ms,
                });
            prop::collection::vec(sample, 0..5).prop_map(move |samples| GenFamily {
                name: name.clone(),
                kind,
                help: help.clone(),
                samples,
            })
        },
    )
}

fn escape(s: &str, quote: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

fn render_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v:?}")
    }
}

fn render_seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

fn render_name(name: &str) -> String {
    if is_legacy_metric_name(name) {
        name.to_string()
    } else {
        format!("\"{}\"", escape(name, true))
    }
}

fn render(families: &[GenFamily], format: Format) -> String {
    let om = format == Format::OpenMetrics;
    let mut out = String::new();
    for f in families {
        let name = render_name(&f.name);
        out.push_str(&format!("# HELP {name} {}\n", escape(&f.help, om)));
        let kind = match (f.kind, format) {
            (MetricType::Unknown, Format::PrometheusText) => "untyped",
            (kind, _) => kind.as_str(),
        };
        out.push_str(&format!("# TYPE {name} {kind}\n"));
        for s in &f.samples {
            let full = format!("{}{}", f.name, s.suffix);
            let mut items: Vec<String> = Vec::new();
            let mut line = String::new();
            if is_legacy_metric_name(&full) {
                line.push_str(&full);
            } else {
                items.push(format!("\"{}\"", escape(&full, true)));
            }
            for (n, v) in &s.labels {
                let n = if is_legacy_label_name(n) {
                    n.clone()
                } else {
                    format!("\"{}\"", escape(n, true))
                };
                items.push(format!("{n}=\"{}\"", escape(v, true)));
            }
            if !items.is_empty() {
                line.push('{');
                line.push_str(&items.join(","));
                line.push('}');
            }
            line.push(' ');
            line.push_str(&render_value(s.value));
            if let Some(ts) = s.timestamp_ms {
                line.push(' ');
                line.push_str(&if om { render_seconds(ts) } else { ts.to_string() });
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    if om {
        out.push_str("# EOF\n");
    }
    out
}

fn check_round_trip(families: &[GenFamily], format: Format) -> Result<(), TestCaseError> {
    let body = render(families, format);
    let entries: Vec<Entry<'_>> = Parser::new(body.as_bytes(), format)
        .keep_created_series(true)
        .collect::<Result<_, _>>()
        .map_err(|e| TestCaseError::fail(format!("{e}\n--- body ---\n{body}")))?;
    let mut it = entries.iter();
    for f in families {
        match it.next() {
            Some(Entry::Help { family, text }) => {
                prop_assert_eq!(family.as_ref(), f.name.as_str());
                prop_assert_eq!(text.as_ref(), f.help.as_str());
            }
            other => return Err(TestCaseError::fail(format!("expected HELP, got {other:?}"))),
        }
        match it.next() {
            Some(Entry::Type { family, kind }) => {
                prop_assert_eq!(family.as_ref(), f.name.as_str());
                prop_assert_eq!(*kind, f.kind);
            }
            other => return Err(TestCaseError::fail(format!("expected TYPE, got {other:?}"))),
        }
        for s in &f.samples {
            let Some(Entry::Sample(p)) = it.next() else {
                return Err(TestCaseError::fail("expected a sample"));
            };
            prop_assert_eq!(p.name.as_ref(), format!("{}{}", f.name, s.suffix));
            let got: Vec<(&str, &str)> = p.labels.iter().map(|(n, v)| (n.as_ref(), v.as_ref())).collect();
            let want: Vec<(&str, &str)> = s.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            prop_assert_eq!(got, want);
            if s.value.is_nan() {
                prop_assert!(p.value.is_nan());
            } else {
                prop_assert_eq!(p.value.to_bits(), s.value.to_bits(), "{} vs {}", p.value, s.value);
            }
            prop_assert_eq!(p.timestamp_ms, s.timestamp_ms);
            prop_assert_eq!(p.metric_type, f.kind);
        }
    }
    prop_assert!(it.next().is_none());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn text_round_trip(families in prop::collection::vec(family(Format::PrometheusText), 0..5)) {
        check_round_trip(&families, Format::PrometheusText)?;
    }

    #[test]
    fn openmetrics_round_trip(families in prop::collection::vec(family(Format::OpenMetrics), 0..5)) {
        check_round_trip(&families, Format::OpenMetrics)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        for format in [Format::PrometheusText, Format::OpenMetrics] {
            let n = Parser::new(&body, format).count();
            prop_assert!(n <= body.len() + 1);
        }
    }

    #[test]
    fn mutated_bodies_never_panic(
        families in prop::collection::vec(family(Format::OpenMetrics), 1..3),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        for format in [Format::PrometheusText, Format::OpenMetrics] {
            let mut body = render(&families, format).into_bytes();
            for (at, byte, op) in &edits {
                if body.is_empty() {
                    break;
                }
                let i = at.index(body.len());
                match op {
                    0 => body[i] = *byte,
                    1 => body.insert(i, *byte),
                    _ => { body.remove(i); }
                }
            }
            for entry in Parser::new(&body, format) {
                if let Err(e) = entry {
                    prop_assert!(e.line >= 1 && e.column >= 1);
                }
            }
        }
    }
}
