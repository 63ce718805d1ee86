//! The metric registry and its text-format rendering.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::histogram::Histogram;

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down, stored as `f64` bits.
#[derive(Debug, Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    pub fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
    pub fn add(&self, d: f64) {
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            let new = (f64::from_bits(cur) + d).to_bits();
            match self
                .0
                .compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }
}

/// Counters that share a name and differ by label values.
#[derive(Debug)]
pub struct CounterVec {
    label_names: Vec<String>,
    children: Mutex<BTreeMap<Vec<String>, Arc<Counter>>>,
}

impl CounterVec {
    /// The counter for these label values (in the order of the label names).
    /// Callers on hot paths keep the returned `Arc` instead of calling again.
    pub fn with(&self, values: &[&str]) -> Arc<Counter> {
        assert_eq!(values.len(), self.label_names.len(), "label value count mismatch");
        let key: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        self.children.lock().entry(key).or_default().clone()
    }
}

/// Gauges that share a name and differ by label values (e.g. one per rule
/// group); children of things that went away are removed with `retain`.
#[derive(Debug)]
pub struct GaugeVec {
    label_names: Vec<String>,
    children: Mutex<BTreeMap<Vec<String>, Arc<Gauge>>>,
}

impl GaugeVec {
    /// The gauge for these label values (in the order of the label names).
    pub fn with(&self, values: &[&str]) -> Arc<Gauge> {
        assert_eq!(values.len(), self.label_names.len(), "label value count mismatch");
        let key: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        self.children.lock().entry(key).or_default().clone()
    }

    /// Keeps only the children whose label values `keep` accepts.
    pub fn retain(&self, keep: impl Fn(&[String]) -> bool) {
        self.children.lock().retain(|values, _| keep(values));
    }
}

type GaugeFn = Box<dyn Fn() -> f64 + Send + Sync>;

enum Metric {
    Counter(Arc<Counter>),
    CounterVec(Arc<CounterVec>),
    Gauge(Arc<Gauge>),
    GaugeVec(Arc<GaugeVec>),
    GaugeFn(GaugeFn),
    Histogram(Arc<Histogram>),
}

struct Family {
    help: String,
    metric: Metric,
}

/// Owns every self-metric. One per running server; tests make their own.
#[derive(Default)]
pub struct Registry {
    families: Mutex<BTreeMap<String, Family>>,
}

impl Registry {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Registers (or returns the already registered) counter `name`.
    pub fn counter(&self, name: &str, help: &str) -> Arc<Counter> {
        let mut fams = self.families.lock();
        let fam = fams.entry(name.to_string()).or_insert_with(|| Family {
            help: help.to_string(),
            metric: Metric::Counter(Arc::default()),
        });
        match &fam.metric {
            Metric::Counter(c) => c.clone(),
            _ => panic!("metric {name} registered twice with different types"),
        }
    }

    pub fn counter_vec(&self, name: &str, help: &str, label_names: &[&str]) -> Arc<CounterVec> {
        let mut fams = self.families.lock();
        let fam = fams.entry(name.to_string()).or_insert_with(|| Family {
            help: help.to_string(),
            metric: Metric::CounterVec(Arc::new(CounterVec {
                label_names: label_names.iter().map(|s| s.to_string()).collect(),
                children: Mutex::new(BTreeMap::new()),
            })),
        });
        match &fam.metric {
            Metric::CounterVec(c) => c.clone(),
            _ => panic!("metric {name} registered twice with different types"),
        }
    }

    pub fn gauge(&self, name: &str, help: &str) -> Arc<Gauge> {
        let mut fams = self.families.lock();
        let fam = fams.entry(name.to_string()).or_insert_with(|| Family {
            help: help.to_string(),
            metric: Metric::Gauge(Arc::default()),
        });
        match &fam.metric {
            Metric::Gauge(g) => g.clone(),
            _ => panic!("metric {name} registered twice with different types"),
        }
    }

    pub fn gauge_vec(&self, name: &str, help: &str, label_names: &[&str]) -> Arc<GaugeVec> {
        let mut fams = self.families.lock();
        let fam = fams.entry(name.to_string()).or_insert_with(|| Family {
            help: help.to_string(),
            metric: Metric::GaugeVec(Arc::new(GaugeVec {
                label_names: label_names.iter().map(|s| s.to_string()).collect(),
                children: Mutex::new(BTreeMap::new()),
            })),
        });
        match &fam.metric {
            Metric::GaugeVec(g) => g.clone(),
            _ => panic!("metric {name} registered twice with different types"),
        }
    }

    /// Registers (or returns the already registered) histogram `name`
    /// with these upper bounds.
    pub fn histogram(&self, name: &str, help: &str, bounds: &[f64]) -> Arc<Histogram> {
        let mut fams = self.families.lock();
        let fam = fams.entry(name.to_string()).or_insert_with(|| Family {
            help: help.to_string(),
            metric: Metric::Histogram(Arc::new(Histogram::new(bounds))),
        });
        match &fam.metric {
            Metric::Histogram(h) => h.clone(),
            _ => panic!("metric {name} registered twice with different types"),
        }
    }

    /// A gauge computed when scraped; replaces an earlier one of the same name.
    pub fn gauge_fn(&self, name: &str, help: &str, f: impl Fn() -> f64 + Send + Sync + 'static) {
        self.families.lock().insert(
            name.to_string(),
            Family {
                help: help.to_string(),
                metric: Metric::GaugeFn(Box::new(f)),
            },
        );
    }

    /// Renders every family in the Prometheus text format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8192);
        let fams = self.families.lock();
        for (name, fam) in fams.iter() {
            let kind = match fam.metric {
                Metric::Counter(_) | Metric::CounterVec(_) => "counter",
                Metric::Gauge(_) | Metric::GaugeVec(_) | Metric::GaugeFn(_) => "gauge",
                Metric::Histogram(_) => "histogram",
            };
            let _ = writeln!(out, "# HELP {name} {}", escape_help(&fam.help));
            let _ = writeln!(out, "# TYPE {name} {kind}");
            match &fam.metric {
                Metric::Counter(c) => write_sample(&mut out, name, &[], &[], c.get() as f64),
                Metric::Gauge(g) => write_sample(&mut out, name, &[], &[], g.get()),
                Metric::GaugeFn(f) => write_sample(&mut out, name, &[], &[], f()),
                Metric::Histogram(h) => h.render(&mut out, name),
                Metric::CounterVec(v) => {
                    for (values, c) in v.children.lock().iter() {
                        write_sample(&mut out, name, &v.label_names, values, c.get() as f64);
                    }
                }
                Metric::GaugeVec(v) => {
                    for (values, g) in v.children.lock().iter() {
                        write_sample(&mut out, name, &v.label_names, values, g.get());
                    }
                }
            }
        }
        out
    }
}

fn write_sample(out: &mut String, name: &str, label_names: &[String], values: &[String], v: f64) {
    out.push_str(name);
    if !label_names.is_empty() {
        out.push('{');
        for (i, (n, val)) in label_names.iter().zip(values).enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{n}=\"{}\"", escape_label_value(val));
        }
        out.push('}');
    }
    out.push(' ');
    write_float(out, v);
    out.push('\n');
}

/// Writes a float the way the text format spells it (`+Inf`, `-Inf`, `NaN`).
pub(crate) fn write_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{v}");
    }
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

pub(crate) fn escape_label_value(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_vectors() {
        let r = Registry::new();
        r.counter("belfry_a_total", "A things.").add(3);
        r.gauge("belfry_b", "B level.").set(1.5);
        r.counter_vec("belfry_c_total", "C by reason.", &["reason"])
            .with(&["x\"y"])
            .inc();
        r.gauge_fn("belfry_d", "D computed.", || 7.0);
        let v = r.gauge_vec("belfry_e", "E by group.", &["group"]);
        v.with(&["a"]).set(0.25);
        v.with(&["b"]).set(2.0);
        v.retain(|values| values[0] != "b");
        let text = r.render();
        assert!(
            text.ends_with("# TYPE belfry_e gauge\nbelfry_e{group=\"a\"} 0.25\n"),
            "{text}"
        );
        assert!(!text.contains("group=\"b\""));
        assert!(text.contains("# TYPE belfry_a_total counter\nbelfry_a_total 3\n"));
        assert!(text.contains("belfry_b 1.5\n"));
        assert!(text.contains("belfry_c_total{reason=\"x\\\"y\"} 1\n"));
        assert!(text.contains("belfry_d 7\n"));
    }

    #[test]
    fn renders_histograms_with_their_type() {
        let r = Registry::new();
        r.histogram("belfry_f_seconds", "F latency.", &[1.0]).observe(0.5);
        let text = r.render();
        assert!(
            text.contains("# TYPE belfry_f_seconds histogram\nbelfry_f_seconds_bucket{le=\"1\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("belfry_f_seconds_count 1\n"), "{text}");
    }

    #[test]
    fn same_name_returns_same_counter() {
        let r = Registry::new();
        r.counter("belfry_x_total", "X.").inc();
        r.counter("belfry_x_total", "X.").inc();
        assert_eq!(r.counter("belfry_x_total", "X.").get(), 2);
    }
}
