//! Aggregation operators (`sum`, `avg`, `min`, `max`, `count`, `group`,
//! `stddev`, `stdvar`, `quantile`, `topk`, `bottomk`, `count_values`,
//! `limitk`, `limit_ratio`) with `by`/`without` grouping, computed as
//! Prometheus does (Kahan sums, incremental mean on overflow).

use std::collections::HashMap;
use std::sync::Arc;

use promql_parser::parser::token::*;
use promql_parser::parser::{AggregateExpr, Expr};

use crate::model::Labels;

use super::error::PromqlError;
use super::eval::Evaluator;
use super::format::{format_float, format_go_g as go_g};
use super::grouping::{group_hash, group_labels, grouping};
use super::node::NodeId;
use super::numeric::{kahan_inc, quantile};
use super::value::{Elem, Val};

#[derive(Default)]
struct Group {
    labels: Arc<Labels>,
    value: f64,
    kahan_c: f64,
    mean: f64,
    count: f64,
    incremental_mean: bool,
    values: Vec<f64>,
    drop_name: bool,
}

pub(crate) fn eval(ev: &mut Evaluator, a: &AggregateExpr, ts: i64) -> Result<Val, PromqlError> {
    let op = a.op.id();
    let (without, names) = grouping(a);
    let param = match (&a.param, op) {
        (Some(p), T_COUNT_VALUES) => match ev.eval(p, ts)? {
            Val::Str(s) => Some(Val::Str(s)),
            other => {
                return Err(PromqlError::Execution(format!(
                    "expected a string, got {}",
                    other.type_name()
                )));
            }
        },
        (Some(p), _) => Some(Val::Scalar(ev.eval_scalar(p, ts)?)),
        (None, _) => None,
    };
    let input = ev.eval_vector(&a.expr, ts)?;
    let param_pos = || match &a.param {
        Some(p) => param_text(p),
        None => String::new(),
    };
    let fparam = match &param {
        Some(Val::Scalar(v)) => *v,
        _ => f64::NAN,
    };
    match op {
        T_COUNT_VALUES => {
            let Some(Val::Str(label)) = param else {
                return Err(PromqlError::Execution("count_values needs a label name".into()));
            };
            ev.ctx.check_label_name(&label, "invalid label name ")?;
            // Under `by`, the value label is part of the grouping.
            let mut names = names;
            if !without && !names.contains(&label) {
                names.push(label.clone());
            }
            return count_values(&label, input, without, &names, ts);
        }
        T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO => {
            return k_aggregation(ev, op, fparam, input, without, &names, &param_pos());
        }
        T_QUANTILE if fparam.is_nan() || !(0.0..=1.0).contains(&fparam) => {
            let pos = ev.ctx.position(&param_pos());
            ev.ctx.annotations.warn(
                format!("quantile value should be between 0 and 1, got {}", go_g(fparam)),
                pos,
            );
        }
        _ => {}
    }
    // Each input series' group key (hash and labels) is kept across steps,
    // keyed by the series' label set (held, so its address stays unique);
    // per step, groups are then found by hash and pointer comparison.
    let node = NodeId::of_aggregation(a);
    let mut keys = ev.cache.take_group_keys(node);
    if keys.len() > 4 * input.len() + 1024 {
        // Inputs that are new label sets every step: do not hoard them.
        keys.clear();
    }
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    // `sum(x)`: one group, nothing to look up.
    let single_group = (!without && names.is_empty()).then(|| Arc::new(Labels::default()));
    for el in input {
        let ptr = Arc::as_ptr(&el.metric) as usize;
        let known = match &single_group {
            Some(all) => Some((0, all.clone())),
            None => keys.get(&ptr).map(|(_, hash, key)| (*hash, key.clone())),
        };
        let (hash, key) = match known {
            Some(k) => k,
            None => {
                let hash = group_hash(&el.metric, without, &names);
                let key = Arc::new(group_labels(&el.metric, without, &names));
                keys.insert(ptr, (el.metric.clone(), hash, key.clone()));
                (hash, key)
            }
        };
        let f = el.v;
        let found = index.get(&hash).and_then(|candidates| {
            candidates
                .iter()
                .copied()
                .find(|&i| Arc::ptr_eq(&groups[i].labels, &key) || groups[i].labels == key)
        });
        let gi = match found {
            Some(i) => i,
            None => {
                index.entry(hash).or_default().push(groups.len());
                let mut g = Group {
                    labels: key,
                    value: f,
                    mean: f,
                    count: 1.0,
                    drop_name: el.drop_name,
                    ..Default::default()
                };
                match op {
                    T_STDDEV | T_STDVAR => {
                        g.value = if f.is_nan() || f.is_infinite() {
                            f64::NAN
                        } else {
                            0.0
                        }
                    }
                    T_QUANTILE => g.values.push(f),
                    T_GROUP => g.value = 1.0,
                    _ => {}
                }
                groups.push(g);
                continue;
            }
        };
        let g = &mut groups[gi];
        g.drop_name |= el.drop_name;
        match op {
            T_SUM => (g.value, g.kahan_c) = kahan_inc(f, g.value, g.kahan_c),
            T_AVG => {
                g.count += 1.0;
                if !g.incremental_mean {
                    let (nv, nc) = kahan_inc(f, g.value, g.kahan_c);
                    if !nv.is_infinite() {
                        g.value = nv;
                        g.kahan_c = nc;
                        continue;
                    }
                    g.incremental_mean = true;
                    g.mean = g.value / (g.count - 1.0);
                    g.kahan_c /= g.count - 1.0;
                }
                let q = (g.count - 1.0) / g.count;
                (g.mean, g.kahan_c) = kahan_inc(f / g.count, q * g.mean, q * g.kahan_c);
            }
            T_GROUP => {}
            T_MAX => {
                if g.value < f || g.value.is_nan() {
                    g.value = f;
                }
            }
            T_MIN => {
                if g.value > f || g.value.is_nan() {
                    g.value = f;
                }
            }
            T_COUNT => g.count += 1.0,
            T_STDDEV | T_STDVAR => {
                g.count += 1.0;
                let delta = f - g.mean;
                g.mean += delta / g.count;
                g.value += delta * (f - g.mean);
            }
            T_QUANTILE => g.values.push(f),
            _ => {
                return Err(PromqlError::Execution(format!("unknown aggregation {}", a.op)));
            }
        }
    }
    ev.cache.put_group_keys(node, keys);
    let mut out = Vec::with_capacity(groups.len());
    for mut g in groups {
        let v = match op {
            T_SUM => g.value + g.kahan_c,
            T_AVG => {
                if g.incremental_mean {
                    g.mean + g.kahan_c
                } else {
                    g.value / g.count + g.kahan_c / g.count
                }
            }
            T_COUNT => g.count,
            T_STDVAR => g.value / g.count,
            T_STDDEV => (g.value / g.count).sqrt(),
            T_QUANTILE => quantile(fparam, &mut g.values),
            _ => g.value,
        };
        out.push(Elem {
            metric: g.labels,
            t: ts,
            v,
            h: None,
            drop_name: g.drop_name,
        });
    }
    ev.ctx.account(out.len())?;
    Ok(Val::Vector(out))
}

/// The text of a parameter expression, to locate it in the query.
fn param_text(p: &Expr) -> String {
    p.to_string()
}

fn count_values(
    label: &str,
    input: Vec<Elem>,
    without: bool,
    names: &[String],
    ts: i64,
) -> Result<Val, PromqlError> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<(Labels, f64)> = Vec::new();
    for el in input {
        let mut b = el.metric.builder();
        b.set(label, &format_float(el.v));
        let metric = b.build();
        let key = group_labels(&metric, without, names);
        match index.get(&key) {
            Some(i) => out[*i].1 += 1.0,
            None => {
                index.insert(key.clone(), out.len());
                out.push((key, 1.0));
            }
        }
    }
    Ok(Val::Vector(
        out.into_iter()
            .map(|(l, v)| Elem {
                metric: Arc::new(l),
                t: ts,
                v,
                h: None,
                drop_name: false,
            })
            .collect(),
    ))
}

fn k_aggregation(
    ev: &mut Evaluator,
    op: u16,
    fparam: f64,
    input: Vec<Elem>,
    without: bool,
    names: &[String],
    param_text: &str,
) -> Result<Val, PromqlError> {
    let mut ratio = 0.0;
    let mut k = 0usize;
    if op == T_LIMIT_RATIO {
        if fparam == 0.0 {
            return Ok(Val::Vector(Vec::new()));
        }
        if fparam.is_nan() {
            return Err(PromqlError::Execution("Ratio value is NaN".into()));
        }
        if !(-1.0..=1.0).contains(&fparam) {
            let to = fparam.clamp(-1.0, 1.0);
            let pos = ev.ctx.position(param_text);
            ev.ctx.annotations.warn(
                format!(
                    "ratio value should be between -1 and 1, got {}, capping to {}",
                    go_g(fparam),
                    go_g(to)
                ),
                pos,
            );
        }
        ratio = fparam.clamp(-1.0, 1.0);
    } else {
        if fparam < 1.0 {
            return Ok(Val::Vector(Vec::new()));
        }
        if fparam.is_nan() {
            return Err(PromqlError::Execution("Parameter value is NaN".into()));
        }
        if fparam >= 9.223372036854776e18 {
            return Err(PromqlError::Execution(format!(
                "Scalar value {} overflows int64",
                go_g(fparam)
            )));
        }
        k = (fparam as i64).min(input.len() as i64) as usize;
        if k < 1 {
            return Ok(Val::Vector(Vec::new()));
        }
    }
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<Vec<Elem>> = Vec::new();
    for el in input {
        let key = group_labels(&el.metric, without, names);
        let gi = *index.entry(key).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[gi].push(el);
    }
    let mut out = Vec::new();
    for mut g in groups {
        match op {
            T_TOPK => {
                // Descending, NaN last; stable among equals.
                g.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ => b.v.partial_cmp(&a.v).unwrap_or(std::cmp::Ordering::Equal),
                });
                g.truncate(k);
            }
            T_BOTTOMK => {
                g.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ => a.v.partial_cmp(&b.v).unwrap_or(std::cmp::Ordering::Equal),
                });
                g.truncate(k);
            }
            T_LIMITK => g.truncate(k),
            _ => {
                g.retain(|el| {
                    let offset = el.metric.stable_hash() as f64 / u64::MAX as f64;
                    (ratio >= 0.0 && offset < ratio) || (ratio < 0.0 && offset >= 1.0 + ratio)
                });
            }
        }
        out.extend(g);
    }
    Ok(Val::Vector(out))
}
