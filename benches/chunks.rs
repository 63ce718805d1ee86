//! Chunk codec throughput: XOR append/iterate at 120 samples per chunk and
//! pco encode/decode at 720, on scrape-like data (15 s ± 50 ms, integer
//! counter and float gauge). Reported as samples per second.

use std::hint::black_box;

use belfry::tsdb::chunk::testdata::{Shape, series};
use belfry::tsdb::chunk::{XorChunk, decode_pco, encode_pco};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const XOR_CHUNK: usize = 120;
const PCO_CHUNK: usize = 720;

fn xor_encode(ts: &[i64], vs: &[f64]) -> XorChunk {
    let mut c = XorChunk::new();
    for (t, v) in ts.iter().zip(vs) {
        c.append(*t, *v);
    }
    c
}

fn bench_xor(c: &mut Criterion) {
    let mut g = c.benchmark_group("xor");
    for shape in [Shape::CounterInt, Shape::GaugeWalk] {
        let (ts, vs) = series(shape, XOR_CHUNK, 11);
        g.throughput(Throughput::Elements(XOR_CHUNK as u64));
        g.bench_function(format!("encode/{shape:?}"), |b| {
            b.iter(|| xor_encode(black_box(&ts), black_box(&vs)))
        });
        let chunk = xor_encode(&ts, &vs);
        g.bench_function(format!("decode/{shape:?}"), |b| {
            b.iter(|| black_box(&chunk).iter().fold(0.0, |acc, (_, v)| acc + v))
        });
    }
    g.finish();
}

fn bench_pco(c: &mut Criterion) {
    let mut g = c.benchmark_group("pco");
    for shape in [Shape::CounterInt, Shape::GaugeWalk] {
        let (ts, vs) = series(shape, PCO_CHUNK, 11);
        g.throughput(Throughput::Elements(PCO_CHUNK as u64));
        g.bench_function(format!("encode/{shape:?}"), |b| {
            b.iter(|| encode_pco(black_box(&ts), black_box(&vs)).unwrap())
        });
        let bytes = encode_pco(&ts, &vs).unwrap();
        g.bench_function(format!("decode/{shape:?}"), |b| {
            b.iter(|| decode_pco(black_box(&bytes)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench_xor, bench_pco);
criterion_main!(benches);
