//! Bytes per sample on scrape-like data, printed (run with
//! `--nocapture`) and bounded so a codec change that bloats chunks fails.

use super::testdata::{SHAPES, Shape, series};
use super::{XorChunk, encode_pco};

fn xor_bytes_per_sample(shape: Shape, chunks: usize) -> f64 {
    let (ts, vs) = series(shape, 120 * chunks, 7);
    let mut total = 0;
    for (t, v) in ts.chunks(120).zip(vs.chunks(120)) {
        let mut c = XorChunk::new();
        for (t, v) in t.iter().zip(v) {
            c.append(*t, *v);
        }
        total += c.bytes().len();
    }
    total as f64 / ts.len() as f64
}

fn pco_bytes_per_sample(shape: Shape, len: usize) -> (f64, f64, f64) {
    let (ts, vs) = series(shape, len * 10, 7);
    let (mut total, mut t_only, mut v_only) = (0, 0, 0);
    for (t, v) in ts.chunks(len).zip(vs.chunks(len)) {
        total += encode_pco(t, v).unwrap().len();
        t_only += encode_pco(t, &vec![0.0; t.len()]).unwrap().len();
        v_only += encode_pco(&vec![0; v.len()], v).unwrap().len();
    }
    let n = ts.len() as f64;
    (total as f64 / n, t_only as f64 / n, v_only as f64 / n)
}

#[test]
fn xor_chunks_stay_compact() {
    for shape in SHAPES {
        let b = xor_bytes_per_sample(shape, 20);
        println!("xor 120/chunk {shape:?}: {b:.3} B/sample");
        // Measured 2.97 / 4.37 / 7.56 / 7.57; the limits leave ~10%.
        let limit = match shape {
            Shape::CounterInt => 3.3,
            Shape::GaugeInt => 4.8,
            Shape::CounterFloat | Shape::GaugeWalk => 8.3,
        };
        assert!(b < limit, "{shape:?}: {b:.3} B/sample");
    }
}

#[test]
fn pco_chunks_stay_compact() {
    for len in [720, 2880] {
        for shape in SHAPES {
            let (total, t, v) = pco_bytes_per_sample(shape, len);
            println!("pco {len}/chunk {shape:?}: {total:.3} B/sample (timestamps ≈{t:.3}, values ≈{v:.3})");
            // Measured at 720: 1.65 / 3.16 / 6.08 / 6.50; ~10% headroom.
            let limit = match shape {
                Shape::CounterInt => 1.85,
                Shape::GaugeInt => 3.5,
                Shape::CounterFloat | Shape::GaugeWalk => 7.2,
            };
            assert!(total < limit, "{shape:?} at {len}: {total:.3} B/sample");
        }
    }
}
