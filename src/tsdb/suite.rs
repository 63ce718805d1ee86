//! The one storage test suite, run against every [`Storage`]: `MemStorage`
//! and the real `Tsdb` both instantiate it with `storage_suite!(factory)`.

use std::any::Any;
use std::sync::Arc;

use crate::model::{Labels, MatchOp, Matcher, STALE_NAN, now_millis};

use super::{AppendError, Storage};

/// A storage under test plus whatever must outlive it (a temp dir).
pub(crate) struct Harness {
    pub storage: Arc<dyn Storage>,
    _keep: Option<Box<dyn Any>>,
}

impl Harness {
    pub(crate) fn new(storage: Arc<dyn Storage>) -> Self {
        Harness { storage, _keep: None }
    }

    pub(crate) fn with_guard(storage: Arc<dyn Storage>, guard: Box<dyn Any>) -> Self {
        Harness {
            storage,
            _keep: Some(guard),
        }
    }
}

/// Generates one `#[test]` per suite case for a harness factory.
#[macro_export]
#[doc(hidden)]
macro_rules! storage_suite {
    ($factory:path) => {
        $crate::storage_suite!(@cases $factory;
            append_commit_select, every_matcher_kind, time_range_filtering, seek_skips_ahead,
            out_of_order_and_duplicates, concurrent_appenders_revalidate, too_old_is_refused,
            stale_nan_round_trips, label_names_and_values, rollback_drops_batch,
            many_samples_cross_chunks, backfill_merges_and_counts_collisions, invalid_labels_refused,
            batches_match_single_samples, append_by_ref, refs_of_uncommitted_series_are_refused);
    };
    (@cases $factory:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::tsdb::suite::$case($factory());
            }
        )*
    };
}

/// A base time near now, so retention never touches suite data.
pub(crate) fn base_time() -> i64 {
    (now_millis() - 30 * 60 * 1000) / 1000 * 1000
}

fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs)
}

fn m(op: MatchOp, n: &str, v: &str) -> Matcher {
    Matcher::new(op, n, v).unwrap()
}

/// All selected series with all their samples.
pub(crate) fn select_all(
    s: &dyn Storage,
    matchers: &[Matcher],
    mint: i64,
    maxt: i64,
) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let q = s.querier();
    q.select(matchers, mint, maxt)
        .unwrap()
        .into_iter()
        .map(|mut ss| {
            let mut v = Vec::new();
            while let Some(x) = ss.samples.next() {
                v.push(x);
            }
            (ss.labels, v)
        })
        .collect()
}

fn add(s: &dyn Storage, samples: &[(Labels, i64, f64)]) {
    let mut app = s.appender();
    for (lbl, t, v) in samples {
        app.append(lbl, *t, *v).unwrap();
    }
    app.commit().unwrap();
}

pub(crate) fn append_commit_select(h: Harness) {
    let s = &*h.storage;
    let b = base_time();
    let up_b = l(&[("__name__", "up"), ("job", "b")]);
    let up_a = l(&[("__name__", "up"), ("job", "a")]);
    let other = l(&[("__name__", "other")]);
    let mut app = s.appender();
    app.append(&up_b, b, 1.0).unwrap();
    app.append(&up_a, b, 2.0).unwrap();
    app.append(&up_b, b + 1000, 3.0).unwrap();
    app.append(&other, b, 4.0).unwrap();
    let report = app.commit().unwrap();
    assert_eq!(report.samples_appended, 4);
    assert_eq!(report.series_created, 3);

    let got = select_all(s, &[m(MatchOp::Equal, "__name__", "up")], i64::MIN, i64::MAX);
    assert_eq!(
        got,
        vec![
            (up_a.clone(), vec![(b, 2.0)]),
            (up_b.clone(), vec![(b, 1.0), (b + 1000, 3.0)])
        ]
    );

    // A second batch to an existing series creates nothing new.
    let mut app = s.appender();
    app.append(&up_a, b + 1000, 5.0).unwrap();
    let report = app.commit().unwrap();
    assert_eq!(report.series_created, 0);
    assert_eq!(report.samples_appended, 1);
    let got = select_all(s, &[m(MatchOp::Equal, "job", "a")], i64::MIN, i64::MAX);
    assert_eq!(got, vec![(up_a, vec![(b, 2.0), (b + 1000, 5.0)])]);
}

pub(crate) fn every_matcher_kind(h: Harness) {
    let s = &*h.storage;
    let b = base_time();
    let series = [
        l(&[("__name__", "up"), ("job", "api"), ("env", "prod")]),
        l(&[("__name__", "up"), ("job", "api-2")]),
        l(&[("__name__", "up"), ("job", "db")]),
        l(&[("__name__", "up")]),
        l(&[("__name__", "down"), ("job", "api")]),
    ];
    add(s, &series.iter().map(|x| (x.clone(), b, 1.0)).collect::<Vec<_>>());
    let names = |ms: &[Matcher]| -> Vec<Labels> {
        select_all(s, ms, i64::MIN, i64::MAX)
            .into_iter()
            .map(|x| x.0)
            .collect()
    };
    let up = m(MatchOp::Equal, "__name__", "up");
    // Sorted by labels: env sorts before job, `__name__` first.
    assert_eq!(
        names(&[up.clone(), m(MatchOp::Equal, "job", "api")]),
        vec![series[0].clone()]
    );
    assert_eq!(
        names(&[up.clone(), m(MatchOp::NotEqual, "job", "api")]),
        vec![series[3].clone(), series[1].clone(), series[2].clone()]
    );
    // Regexes are anchored: "api" does not match "api-2".
    assert_eq!(
        names(&[m(MatchOp::Regex, "job", "api")]),
        vec![series[4].clone(), series[0].clone()]
    );
    assert_eq!(
        names(&[up.clone(), m(MatchOp::Regex, "job", "api.*")]),
        vec![series[0].clone(), series[1].clone()]
    );
    assert_eq!(
        names(&[up.clone(), m(MatchOp::NotRegex, "job", "api.*")]),
        vec![series[3].clone(), series[2].clone()]
    );
    // Matchers matching the empty string also select series lacking the label.
    assert_eq!(
        names(&[up.clone(), m(MatchOp::Equal, "job", "")]),
        vec![series[3].clone()]
    );
    assert_eq!(
        names(&[up.clone(), m(MatchOp::Regex, "job", "db|")]),
        vec![series[3].clone(), series[2].clone()]
    );
    assert_eq!(
        names(&[up.clone(), m(MatchOp::NotEqual, "env", "prod")]),
        vec![series[3].clone(), series[1].clone(), series[2].clone()]
    );
    assert_eq!(
        names(&[up.clone(), m(MatchOp::NotEqual, "env", "")]),
        vec![series[0].clone()]
    );
    assert!(names(&[m(MatchOp::Equal, "__name__", "missing")]).is_empty());
    assert!(names(&[up, m(MatchOp::Equal, "nolabel", "x")]).is_empty());
}

pub(crate) fn time_range_filtering(h: Harness) {
    let s = &*h.storage;
    let b = base_time();
    let early = l(&[("__name__", "x"), ("i", "early")]);
    let late = l(&[("__name__", "x"), ("i", "late")]);
    let mut samples = Vec::new();
    for i in 0..10 {
        samples.push((early.clone(), b + i * 1000, i as f64));
    }
    for i in 20..30 {
        samples.push((late.clone(), b + i * 1000, i as f64));
    }
    add(s, &samples);
    let x = [m(MatchOp::Equal, "__name__", "x")];
    let got = select_all(s, &x, b + 5000, b + 7000);
    assert_eq!(
        got,
        vec![(
            early.clone(),
            vec![(b + 5000, 5.0), (b + 6000, 6.0), (b + 7000, 7.0)]
        )]
    );
    let got = select_all(s, &x, b + 9000, b + 20_000);
    assert_eq!(
        got,
        vec![(early, vec![(b + 9000, 9.0)]), (late, vec![(b + 20_000, 20.0)])]
    );
    assert!(select_all(s, &x, b + 10_000, b + 19_999).is_empty());
    assert!(select_all(s, &x, b + 40_000, b + 50_000).is_empty());
}

pub(crate) fn seek_skips_ahead(h: Harness) {
    let s = &*h.storage;
    let b = base_time();
    let x = l(&[("__name__", "x")]);
    add(
        s,
        &(0..300)
            .map(|i| (x.clone(), b + i * 1000, i as f64))
            .collect::<Vec<_>>(),
    );
    let q = s.querier();
    let mut sel = q
        .select(&[m(MatchOp::Equal, "__name__", "x")], b + 10_000, b + 250_000)
        .unwrap();
    assert_eq!(sel.len(), 1);
    let it = &mut sel[0].samples;
    assert_eq!(it.next(), Some((b + 10_000, 10.0)));
    assert_eq!(it.seek(b + 200_500), Some((b + 201_000, 201.0)));
    assert_eq!(it.next(), Some((b + 202_000, 202.0)));
    assert_eq!(it.seek(b + 260_000), None);
}

pub(crate) fn out_of_order_and_duplicates(h: Harness) {
    let s = &*h.storage;
    let b = base_time();
    let x = l(&[("__name__", "x")]);
    add(s, &[(x.clone(), b + 1000, 1.0)]);
    let mut app = s.appender();
    assert_eq!(app.append(&x, b, 0.5), Err(AppendError::OutOfOrder));
    assert_eq!(app.append(&x, b + 1000, 2.0), Err(AppendError::Duplicate));
    // The same timestamp with the same value bits is accepted silently.
    assert!(app.append(&x, b + 1000, 1.0).is_ok());
    app.append(&x, b + 2000, 2.0).unwrap();
    // Checked against earlier samples of the same batch too.
    assert_eq!(app.append(&x, b + 1500, 9.0), Err(AppendError::OutOfOrder));
    assert_eq!(app.append(&x, b + 2000, 9.0), Err(AppendError::Duplicate));
    assert!(app.append(&x, b + 2000, 2.0).is_ok());
    let report = app.commit().unwrap();
    assert_eq!(report.samples_appended, 1);
    let got = select_all(s, &[m(MatchOp::Equal, "__name__", "x")], i64::MIN, i64::MAX);
    assert_eq!(got, vec![(x, vec![(b + 1000, 1.0), (b + 2000, 2.0)])]);
}

pub(crate) fn concurrent_appenders_revalidate(h: Harness) {
    let s = &*h.storage;
    let b = base_time();
    let x = l(&[("__name__", "x")]);
    let mut slow = s.appender();
    slow.append(&x, b + 1000, 1.0).unwrap();
    add(s, &[(x.clone(), b + 2000, 2.0)]);
    // Valid when buffered, out of order by commit time: dropped, not stored.
    let report = slow.commit().unwrap();
    assert_eq!(report.samples_appended, 0);
    assert_eq!(report.series_created, 0);
    let got = select_all(s, &[m(MatchOp::Equal, "__name__", "x")], i64::MIN, i64::MAX);
    assert_eq!(got, vec![(x, vec![(b + 2000, 2.0)])]);
}

pub(crate) fn too_old_is_refused(h: Harness) {
    let s = &*h.storage;
    let b = base_time();
    let x = l(&[("__name__", "x")]);
    let y = l(&[("__name__", "y")]);
    add(s, &[(x.clone(), b, 1.0)]);
    add(s, &[(x, b + 3 * 3600 * 1000, 1.0)]);
    let mut app = s.appender();
    // A new series, but older than the head window (1 h behind the newest).
    assert_eq!(app.append(&y, b, 1.0), Err(AppendError::TooOld));
    app.append(&y, b + 2 * 3600 * 1000 + 1, 1.0).unwrap();
    app.commit().unwrap();
}

pub(crate) fn stale_nan_round_trips(h: Harness) {
    let s = &*h.storage;
    let b = base_time();
    let x = l(&[("__name__", "x")]);
    let other_nan = f64::from_bits(0x7ff8_0000_0000_0001);
    add(
        s,
        &[
            (x.clone(), b, 1.0),
            (x.clone(), b + 1000, STALE_NAN),
            (x.clone(), b + 2000, other_nan),
            (x.clone(), b + 3000, -0.0),
        ],
    );
    let got = select_all(s, &[m(MatchOp::Equal, "__name__", "x")], i64::MIN, i64::MAX);
    let bits: Vec<(i64, u64)> = got[0].1.iter().map(|&(t, v)| (t, v.to_bits())).collect();
    assert_eq!(
        bits,
        vec![
            (b, 1.0f64.to_bits()),
            (b + 1000, STALE_NAN.to_bits()),
            (b + 2000, other_nan.to_bits()),
            (b + 3000, (-0.0f64).to_bits())
        ]
    );
}

pub(crate) fn label_names_and_values(h: Harness) {
    let s = &*h.storage;
    let b = base_time();
    add(
        s,
        &[
            (l(&[("__name__", "up"), ("job", "api"), ("zone", "z1")]), b, 1.0),
            (l(&[("__name__", "up"), ("job", "db")]), b + 60_000, 1.0),
            (l(&[("__name__", "cpu"), ("core", "0")]), b, 1.0),
        ],
    );
    let q = s.querier();
    let all = (i64::MIN, i64::MAX);
    assert_eq!(
        q.label_names(&[], all.0, all.1).unwrap(),
        vec!["__name__", "core", "job", "zone"]
    );
    let up = [m(MatchOp::Equal, "__name__", "up")];
    assert_eq!(
        q.label_names(&up, all.0, all.1).unwrap(),
        vec!["__name__", "job", "zone"]
    );
    // Only the db series has samples after b.
    assert_eq!(q.label_names(&up, b + 1, all.1).unwrap(), vec!["__name__", "job"]);
    assert_eq!(
        q.label_values("job", &[], all.0, all.1).unwrap(),
        vec!["api", "db"]
    );
    assert_eq!(q.label_values("job", &[], all.0, b).unwrap(), vec!["api"]);
    assert_eq!(
        q.label_values("__name__", &[], all.0, all.1).unwrap(),
        vec!["cpu", "up"]
    );
    let not_api = [m(MatchOp::NotEqual, "job", "api")];
    assert_eq!(
        q.label_values("__name__", &not_api, all.0, all.1).unwrap(),
        vec!["cpu", "up"]
    );
    assert!(q.label_values("missing", &[], all.0, all.1).unwrap().is_empty());
    assert!(q.label_names(&[], b + 120_000, all.1).unwrap().is_empty());
}

pub(crate) fn rollback_drops_batch(h: Harness) {
    let s = &*h.storage;
    let b = base_time();
    let x = l(&[("__name__", "x")]);
    let mut app = s.appender();
    app.append(&x, b, 1.0).unwrap();
    app.rollback();
    assert!(select_all(s, &[m(MatchOp::Equal, "__name__", "x")], i64::MIN, i64::MAX).is_empty());
    let mut app = s.appender();
    app.append(&x, b, 1.0).unwrap();
    assert_eq!(app.commit().unwrap().series_created, 1);
}

pub(crate) fn many_samples_cross_chunks(h: Harness) {
    let s = &*h.storage;
    let b = base_time();
    let series: Vec<Labels> = (0..5)
        .map(|i| l(&[("__name__", "x"), ("i", &i.to_string())]))
        .collect();
    for batch in 0..10 {
        let mut app = s.appender();
        for step in 0..100 {
            let t = b + (batch * 100 + step) * 1000;
            for (i, lbl) in series.iter().enumerate() {
                app.append(lbl, t, (t as f64) * 0.5 + i as f64).unwrap();
            }
        }
        app.commit().unwrap();
    }
    let got = select_all(s, &[m(MatchOp::Regex, "i", "1|3")], b + 150_000, b + 850_000);
    assert_eq!(got.len(), 2);
    for (idx, (lbl, samples)) in got.iter().enumerate() {
        let i = [1, 3][idx];
        assert_eq!(lbl.get("i"), Some(i.to_string().as_str()));
        let want: Vec<(i64, f64)> = (150..=850)
            .map(|k| {
                let t = b + k * 1000;
                (t, (t as f64) * 0.5 + i as f64)
            })
            .collect();
        assert_eq!(samples, &want);
    }
}

pub(crate) fn backfill_merges_and_counts_collisions(h: Harness) {
    let s = &*h.storage;
    let b = base_time();
    let x = l(&[("__name__", "x")]);
    add(s, &[(x.clone(), b, 1.0), (x.clone(), b + 1000, 2.0)]);
    let old = b - 24 * 3600 * 1000;
    let report = s
        .backfill(vec![
            (x.clone(), vec![(old, 10.0), (b, 99.0), (old + 1000, 11.0)]),
            (l(&[("__name__", "y")]), vec![(old, 5.0)]),
        ])
        .unwrap();
    assert_eq!(report.samples_written, 3);
    assert_eq!(report.samples_skipped, 1);
    assert_eq!(report.series_created, 1);
    let got = select_all(s, &[m(MatchOp::Equal, "__name__", "x")], i64::MIN, i64::MAX);
    assert_eq!(
        got,
        vec![(
            x.clone(),
            vec![(old, 10.0), (old + 1000, 11.0), (b, 1.0), (b + 1000, 2.0)]
        )]
    );
    // Backfilling the same again writes nothing and loses nothing.
    let again = s
        .backfill(vec![(x.clone(), vec![(old, 10.0), (old + 1000, 11.0)])])
        .unwrap();
    assert_eq!((again.samples_written, again.samples_skipped), (0, 2));
    // Appends continue after the newest sample.
    add(s, &[(x.clone(), b + 2000, 3.0)]);
    let got = select_all(s, &[m(MatchOp::Equal, "__name__", "x")], b + 500, i64::MAX);
    assert_eq!(got, vec![(x, vec![(b + 1000, 2.0), (b + 2000, 3.0)])]);
}

pub(crate) fn invalid_labels_refused(h: Harness) {
    let s = &*h.storage;
    let mut app = s.appender();
    assert!(matches!(
        app.append(&Labels::default(), base_time(), 1.0),
        Err(AppendError::InvalidLabels(_))
    ));
    assert_eq!(app.commit().unwrap().samples_appended, 0);
}

/// `next_batch` hands out the same samples as `next`, over persisted
/// (backfilled, many chunks) and head data, also after a `seek`.
pub(crate) fn batches_match_single_samples(h: Harness) {
    let s = &*h.storage;
    let b = base_time();
    let x = l(&[("__name__", "x")]);
    let old = b - 13 * 3600 * 1000;
    let backfilled: Vec<(i64, f64)> = (0..3000).map(|k| (old + k * 15_000, k as f64)).collect();
    s.backfill(vec![(x.clone(), backfilled)]).unwrap();
    add(
        s,
        &(0..300)
            .map(|k| (x.clone(), b + k * 1000, -(k as f64)))
            .collect::<Vec<_>>(),
    );
    let matchers = [m(MatchOp::Equal, "__name__", "x")];
    for (mint, maxt, seek) in [
        (i64::MIN, i64::MAX, None),
        (old + 100_000, b + 150_000, None),
        (old, i64::MAX, Some(old + 20_000_000)),
        (old + 7_000, b + 299_000, Some(b + 5_000)),
    ] {
        let one_by_one: Vec<(i64, f64)> = {
            let mut sel = s.querier().select(&matchers, mint, maxt).unwrap();
            let it = &mut sel[0].samples;
            let mut out: Vec<(i64, f64)> = seek.and_then(|t| it.seek(t)).into_iter().collect();
            while let Some(p) = it.next() {
                out.push(p);
            }
            out
        };
        let batched: Vec<(i64, f64)> = {
            let mut sel = s.querier().select(&matchers, mint, maxt).unwrap();
            let it = &mut sel[0].samples;
            let mut out: Vec<(i64, f64)> = seek.and_then(|t| it.seek(t)).into_iter().collect();
            while it.next_batch(&mut out) {}
            out
        };
        assert!(!one_by_one.is_empty());
        assert_eq!(batched, one_by_one, "[{mint}, {maxt}] seek {seek:?}");
    }
}

/// A ref from `append` appends to the same series in later batches (and
/// in its own), under the same order and duplicate checks.
pub(crate) fn append_by_ref(h: Harness) {
    let s = &*h.storage;
    let b = base_time();
    let x = l(&[("__name__", "x"), ("job", "a")]);
    let y = l(&[("__name__", "y")]);
    let mut app = s.appender();
    let rx = app.append(&x, b, 1.0).unwrap();
    let ry = app.append(&y, b, 10.0).unwrap();
    assert_ne!(rx, ry);
    // Within the batch that creates it, too.
    app.append_ref(rx, b + 1000, 2.0).unwrap();
    assert_eq!(app.append(&x, b + 2000, 3.0), Ok(rx));
    let report = app.commit().unwrap();
    assert_eq!((report.samples_appended, report.series_created), (4, 2));

    let mut app = s.appender();
    app.append_ref(rx, b + 3000, 4.0).unwrap();
    app.append_ref(ry, b + 3000, 11.0).unwrap();
    assert_eq!(app.append_ref(rx, b + 2500, 9.0), Err(AppendError::OutOfOrder));
    assert_eq!(app.append_ref(rx, b + 3000, 9.0), Err(AppendError::Duplicate));
    assert_eq!(app.append_ref(ry, b + 3000, 11.0), Ok(()));
    // By labels, the same series answers with the same ref.
    assert_eq!(app.append(&x, b + 4000, 5.0), Ok(rx));
    let report = app.commit().unwrap();
    assert_eq!((report.samples_appended, report.series_created), (3, 0));

    // The same ref twice in a row is checked against the first sample.
    let mut app = s.appender();
    app.append_ref(rx, b + 6000, 6.0).unwrap();
    assert_eq!(app.append_ref(rx, b + 6000, 6.0), Ok(()));
    assert_eq!(app.append_ref(rx, b + 5000, 1.0), Err(AppendError::OutOfOrder));
    let report = app.commit().unwrap();
    assert_eq!(report.samples_appended, 1);

    let got = select_all(s, &[m(MatchOp::Equal, "__name__", "x")], i64::MIN, i64::MAX);
    let want = vec![
        (b, 1.0),
        (b + 1000, 2.0),
        (b + 2000, 3.0),
        (b + 3000, 4.0),
        (b + 4000, 5.0),
        (b + 6000, 6.0),
    ];
    assert_eq!(got, vec![(x, want)]);
    let got = select_all(s, &[m(MatchOp::Equal, "__name__", "y")], i64::MIN, i64::MAX);
    assert_eq!(got, vec![(y, vec![(b, 10.0), (b + 3000, 11.0)])]);
}

/// Refs handed out for series that never got committed (rolled back, or
/// created first by another appender) are refused, never taken for another
/// series; appending by labels then gives the live ref.
pub(crate) fn refs_of_uncommitted_series_are_refused(h: Harness) {
    let s = &*h.storage;
    let b = base_time();
    let x = l(&[("__name__", "x")]);
    let mut app = s.appender();
    let rolled_back = app.append(&x, b, 1.0).unwrap();
    app.rollback();
    let mut app = s.appender();
    assert_eq!(
        app.append_ref(rolled_back, b, 1.0),
        Err(AppendError::UnknownSeriesRef)
    );
    drop(app);

    // Two appenders create the same series; the first commit wins.
    let mut first = s.appender();
    let mut second = s.appender();
    let r1 = first.append(&x, b, 1.0).unwrap();
    let r2 = second.append(&x, b + 1000, 2.0).unwrap();
    assert_ne!(r1, r2);
    assert_eq!(first.commit().unwrap().series_created, 1);
    assert_eq!(second.commit().unwrap().series_created, 0);
    let mut app = s.appender();
    assert_eq!(
        app.append_ref(r2, b + 2000, 3.0),
        Err(AppendError::UnknownSeriesRef)
    );
    assert_eq!(
        app.append_ref(rolled_back, b + 2000, 3.0),
        Err(AppendError::UnknownSeriesRef)
    );
    assert_eq!(app.append(&x, b + 2000, 3.0), Ok(r1));
    app.append_ref(r1, b + 3000, 4.0).unwrap();
    assert_eq!(app.commit().unwrap().samples_appended, 2);
    let got = select_all(s, &[m(MatchOp::Equal, "__name__", "x")], i64::MIN, i64::MAX);
    assert_eq!(
        got,
        vec![(
            x,
            vec![(b, 1.0), (b + 1000, 2.0), (b + 2000, 3.0), (b + 3000, 4.0)]
        )]
    );
}
