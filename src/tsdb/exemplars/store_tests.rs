use super::*;
use crate::model::{MatchOp, Matcher};

fn series(name: &str, le: &str) -> Labels {
    Labels::from_pairs(&[("__name__", name), ("le", le)])
}

fn ex(trace: &str, value: f64, ts: i64) -> Exemplar {
    Exemplar {
        labels: Labels::from_pairs(&[("trace_id", trace)]),
        value,
        ts,
    }
}

fn store(max: usize) -> (ExemplarStore, std::sync::Arc<Registry>) {
    let registry = Registry::new();
    (ExemplarStore::new(max, &registry), registry)
}

fn metric(registry: &Registry, line_start: &str) -> String {
    registry
        .render()
        .lines()
        .find(|l| l.starts_with(line_start))
        .unwrap_or_else(|| panic!("no {line_start} in the metrics"))
        .to_string()
}

fn all(s: &ExemplarStore) -> Vec<SeriesExemplars> {
    let any = Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap();
    s.select(i64::MIN, i64::MAX, &[vec![any]])
}

fn traces(found: &SeriesExemplars) -> Vec<String> {
    found
        .exemplars
        .iter()
        .map(|e| e.labels.get("trace_id").unwrap_or("").to_string())
        .collect()
}

#[test]
fn zero_capacity_keeps_nothing_and_counts_the_refusal() {
    let (s, r) = store(0);
    let err = s.append_exemplar(&series("a", "1"), ex("t", 1.0, 1)).unwrap_err();
    assert_eq!(err, ExemplarError::Disabled);
    assert!(all(&s).is_empty());
    assert_eq!(
        metric(
            &r,
            "belfry_tsdb_exemplar_exemplars_refused_total{reason=\"disabled\"}"
        ),
        "belfry_tsdb_exemplar_exemplars_refused_total{reason=\"disabled\"} 1"
    );
    assert_eq!(
        metric(&r, "belfry_tsdb_exemplar_max_exemplars"),
        "belfry_tsdb_exemplar_max_exemplars 0"
    );
}

#[test]
fn label_sets_over_128_characters_are_refused() {
    let (s, r) = store(10);
    // 8 ("trace_id") + 120 = 128 characters: the limit itself is allowed;
    // multi-byte characters count once each, as OpenMetrics counts them.
    let at_limit = "é".repeat(120);
    s.append_exemplar(&series("a", "1"), ex(&at_limit, 1.0, 1))
        .unwrap();
    let over = "é".repeat(121);
    let err = s
        .append_exemplar(&series("a", "1"), ex(&over, 1.0, 2))
        .unwrap_err();
    assert_eq!(
        err,
        ExemplarError::LabelSetTooLong {
            chars: 129,
            limit: 128
        }
    );
    assert_eq!(all(&s)[0].exemplars.len(), 1);
    assert_eq!(
        metric(
            &r,
            "belfry_tsdb_exemplar_exemplars_refused_total{reason=\"label_set_too_long\"}"
        ),
        "belfry_tsdb_exemplar_exemplars_refused_total{reason=\"label_set_too_long\"} 1"
    );
}

#[test]
fn identical_exemplars_are_kept_once() {
    let (s, r) = store(10);
    for _ in 0..5 {
        s.append_exemplar(&series("a", "1"), ex("t1", 0.5, 1000)).unwrap();
    }
    let found = all(&s);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].exemplars, vec![ex("t1", 0.5, 1000)]);
    assert_eq!(
        metric(&r, "belfry_tsdb_exemplar_exemplars_appended_total"),
        "belfry_tsdb_exemplar_exemplars_appended_total 1"
    );
}

#[test]
fn older_exemplars_of_a_series_are_refused_and_counted() {
    let (s, r) = store(10);
    let a = series("a", "1");
    s.append_exemplar(&a, ex("t1", 5.0, 2000)).unwrap();
    assert_eq!(
        s.append_exemplar(&a, ex("t0", 5.0, 1999)),
        Err(ExemplarError::OutOfOrder)
    );
    // Same time: ordered by value, as Prometheus orders a native
    // histogram's several exemplars of one sample.
    assert_eq!(
        s.append_exemplar(&a, ex("t2", 4.0, 2000)),
        Err(ExemplarError::OutOfOrder)
    );
    s.append_exemplar(&a, ex("t3", 6.0, 2000)).unwrap();
    // Another series has its own order.
    s.append_exemplar(&series("b", "1"), ex("t4", 1.0, 10)).unwrap();
    let found = all(&s);
    assert_eq!(traces(&found[0]), ["t1", "t3"]);
    assert_eq!(traces(&found[1]), ["t4"]);
    assert_eq!(
        metric(&r, "belfry_tsdb_exemplar_out_of_order_exemplars_total"),
        "belfry_tsdb_exemplar_out_of_order_exemplars_total 2"
    );
}

#[test]
fn a_full_ring_overwrites_the_oldest_and_forgets_emptied_series() {
    let (s, r) = store(3);
    let (a, b) = (series("a", "1"), series("b", "1"));
    s.append_exemplar(&a, ex("a1", 1.0, 1)).unwrap();
    s.append_exemplar(&b, ex("b1", 1.0, 2)).unwrap();
    s.append_exemplar(&a, ex("a2", 1.0, 3)).unwrap();
    assert_eq!(
        metric(&r, "belfry_tsdb_exemplar_exemplars_in_storage"),
        "belfry_tsdb_exemplar_exemplars_in_storage 3"
    );
    // Overwrites a1 (the oldest overall).
    s.append_exemplar(&a, ex("a3", 1.0, 4)).unwrap();
    let found = all(&s);
    assert_eq!(traces(&found[0]), ["a2", "a3"]);
    assert_eq!(traces(&found[1]), ["b1"]);
    // Overwrites b1: series b has nothing left and disappears.
    s.append_exemplar(&a, ex("a4", 1.0, 5)).unwrap();
    let found = all(&s);
    assert_eq!(found.len(), 1);
    assert_eq!(traces(&found[0]), ["a2", "a3", "a4"]);
    assert_eq!(
        metric(&r, "belfry_tsdb_exemplar_series_with_exemplars_in_storage"),
        "belfry_tsdb_exemplar_series_with_exemplars_in_storage 1"
    );
    assert_eq!(
        metric(&r, "belfry_tsdb_exemplar_exemplars_in_storage"),
        "belfry_tsdb_exemplar_exemplars_in_storage 3"
    );
    assert_eq!(
        metric(&r, "belfry_tsdb_exemplar_last_exemplars_timestamp_seconds"),
        "belfry_tsdb_exemplar_last_exemplars_timestamp_seconds 0.003"
    );
    // A series' only exemplar overwritten by its own next one.
    let (s, _r) = store(1);
    s.append_exemplar(&a, ex("x1", 1.0, 1)).unwrap();
    s.append_exemplar(&a, ex("x2", 1.0, 2)).unwrap();
    assert_eq!(traces(&all(&s)[0]), ["x2"]);
}

#[test]
fn select_ors_matcher_sets_ands_within_one_and_clips_to_the_range() {
    let (s, _r) = store(100);
    for (i, le) in ["0.1", "1", "+Inf"].iter().enumerate() {
        let t = i as i64 * 1000;
        s.append_exemplar(&series("req_bucket", le), ex(&format!("r{i}"), 1.0, t))
            .unwrap();
        s.append_exemplar(&series("req_bucket", le), ex(&format!("s{i}"), 1.0, t + 5000))
            .unwrap();
    }
    s.append_exemplar(&series("other", "1"), ex("o", 1.0, 0)).unwrap();
    let name = |n: &str| Matcher::new(MatchOp::Equal, "__name__", n).unwrap();
    let le = |v: &str| Matcher::new(MatchOp::Equal, "le", v).unwrap();

    let found = s.select(0, i64::MAX, &[vec![name("req_bucket"), le("1")]]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].series_labels, series("req_bucket", "1"));
    assert_eq!(traces(&found[0]), ["r1", "s1"]);

    let found = s.select(
        0,
        i64::MAX,
        &[vec![name("req_bucket"), le("1")], vec![name("other")]],
    );
    assert_eq!(found.len(), 2);
    // Sorted by series labels.
    assert_eq!(found[0].series_labels, series("other", "1"));

    // Only exemplars inside [start, end]; series with none are left out.
    let found = s.select(1000, 5500, &[vec![name("req_bucket")]]);
    let got: Vec<(String, Vec<String>)> = found
        .iter()
        .map(|f| (f.series_labels.get("le").unwrap().to_string(), traces(f)))
        .collect();
    assert_eq!(
        got,
        [
            ("+Inf".to_string(), vec!["r2".to_string()]),
            ("0.1".to_string(), vec!["s0".to_string()]),
            ("1".to_string(), vec!["r1".to_string()]),
        ]
    );
    assert!(s.select(100_000, 200_000, &[vec![name("req_bucket")]]).is_empty());
}

#[test]
fn resizing_keeps_the_newest_exemplars() {
    let (s, r) = store(4);
    let (a, b) = (series("a", "1"), series("b", "1"));
    s.append_exemplar(&a, ex("a1", 1.0, 1)).unwrap();
    s.append_exemplar(&b, ex("b1", 1.0, 2)).unwrap();
    s.append_exemplar(&a, ex("a2", 1.0, 3)).unwrap();
    s.append_exemplar(&b, ex("b2", 1.0, 4)).unwrap();
    s.append_exemplar(&a, ex("a3", 1.0, 5)).unwrap();
    s.resize(2);
    assert_eq!(s.max_exemplars(), 2);
    let found = all(&s);
    assert_eq!(traces(&found[0]), ["a3"]);
    assert_eq!(traces(&found[1]), ["b2"]);
    s.resize(10);
    s.append_exemplar(&a, ex("a4", 1.0, 6)).unwrap();
    assert_eq!(traces(&all(&s)[0]), ["a3", "a4"]);
    assert_eq!(
        metric(&r, "belfry_tsdb_exemplar_max_exemplars"),
        "belfry_tsdb_exemplar_max_exemplars 10"
    );
    // The series' order survives a resize: older is still refused.
    assert_eq!(
        s.append_exemplar(&b, ex("b0", 1.0, 1)),
        Err(ExemplarError::OutOfOrder)
    );
    s.resize(0);
    assert!(all(&s).is_empty());
    assert_eq!(
        metric(&r, "belfry_tsdb_exemplar_exemplars_in_storage"),
        "belfry_tsdb_exemplar_exemplars_in_storage 0"
    );
}
