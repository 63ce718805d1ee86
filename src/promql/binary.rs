//! Binary operators: arithmetic, comparison (with and without `bool`), the
//! set operators, and vector matching with `on`/`ignoring` and
//! `group_left`/`group_right`, with Prometheus's error messages.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use promql_parser::parser::token::*;
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use crate::model::{Label, Labels};

use super::error::PromqlError;
use super::eval::Evaluator;
use super::operators::{arith, btos, elem_op, scalar_op, vector_scalar_drops_name, vector_scalar_value};
use super::value::{Elem, Val, is_reserved};

pub(crate) fn eval(ev: &mut Evaluator, b: &BinaryExpr, ts: i64) -> Result<Val, PromqlError> {
    let op = b.op.id();
    let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
    let mut lhs = ev.eval(&b.lhs, ts)?;
    let mut rhs = ev.eval(&b.rhs, ts)?;
    // Set operators pass samples on as they are; arithmetic and
    // comparisons read floats only.
    if !matches!(op, T_LAND | T_LOR | T_LUNLESS) {
        if let Val::Vector(v) = lhs {
            lhs = Val::Vector(ev.floats_only(v, &b.lhs));
        }
        if let Val::Vector(v) = rhs {
            rhs = Val::Vector(ev.floats_only(v, &b.rhs));
        }
    }
    match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(scalar_op(op, l, r)?)),
        (Val::Vector(l), Val::Scalar(r)) => Ok(Val::Vector(vector_scalar(op, l, r, false, return_bool, ts)?)),
        (Val::Scalar(l), Val::Vector(r)) => Ok(Val::Vector(vector_scalar(op, r, l, true, return_bool, ts)?)),
        (Val::Vector(l), Val::Vector(r)) => {
            let matching = b.modifier.as_ref().and_then(|m| m.matching.clone());
            let card = b
                .modifier
                .as_ref()
                .map(|m| m.card.clone())
                .unwrap_or(VectorMatchCardinality::OneToOne);
            let sig = Signature::new(matching.as_ref());
            match op {
                T_LAND => Ok(Val::Vector(and(l, r, &sig))),
                T_LOR => Ok(Val::Vector(or(l, r, &sig))),
                T_LUNLESS => Ok(Val::Vector(unless(l, r, &sig))),
                _ => {
                    vector_vector(op, l, r, &sig, matching.as_ref(), &card, return_bool, ts).map(Val::Vector)
                }
            }
        }
        (l, r) => Err(PromqlError::Execution(format!(
            "binary operator {} not defined between {} and {}",
            b.op,
            l.type_name(),
            r.type_name()
        ))),
    }
}

fn vector_scalar(
    op: u16,
    v: Vec<Elem>,
    s: f64,
    swap: bool,
    return_bool: bool,
    ts: i64,
) -> Result<Vec<Elem>, PromqlError> {
    let mut out = Vec::with_capacity(v.len());
    for mut el in v {
        let Some(value) = vector_scalar_value(op, el.v, s, swap, return_bool)? else {
            continue;
        };
        el.v = value;
        el.t = ts;
        el.drop_name |= vector_scalar_drops_name(op, return_bool);
        out.push(el);
    }
    Ok(out)
}

/// The join key of a series: its values of the `on` labels, or of all
/// labels but the `ignoring` ones and the metric name.
pub(crate) struct Signature {
    on: bool,
    names: Vec<String>,
}

impl Signature {
    pub fn new(m: Option<&LabelModifier>) -> Self {
        match m {
            Some(LabelModifier::Include(l)) => Signature {
                on: true,
                names: l.labels.clone(),
            },
            Some(LabelModifier::Exclude(l)) => Signature {
                on: false,
                names: l.labels.clone(),
            },
            None => Signature {
                on: false,
                names: Vec::new(),
            },
        }
    }

    pub fn key(&self, l: &Labels) -> Vec<u8> {
        let mut k = Vec::new();
        for lab in l.iter() {
            let listed = self.names.contains(&lab.name);
            let take = if self.on {
                listed
            } else {
                !listed && lab.name != "__name__"
            };
            if take {
                k.extend_from_slice(lab.name.as_bytes());
                k.push(0xff);
                k.extend_from_slice(lab.value.as_bytes());
                k.push(0xfe);
            }
        }
        k
    }

    /// The labels the key is made of, for error messages.
    fn matched_labels(&self, l: &Labels) -> Labels {
        Labels::from_sorted_unchecked(
            l.iter()
                .filter(|lab| {
                    let listed = self.names.contains(&lab.name);
                    if self.on {
                        listed
                    } else {
                        !listed && lab.name != "__name__"
                    }
                })
                .cloned()
                .collect(),
        )
    }
}

/// A label set printed as Prometheus's `labels.String()`: every label,
/// `__name__` included, inside the braces.
pub(crate) fn prom_string(l: &Labels) -> String {
    let parts: Vec<String> = l.iter().map(|x| format!("{}={:?}", x.name, x.value)).collect();
    format!("{{{}}}", parts.join(", "))
}

fn and(l: Vec<Elem>, r: Vec<Elem>, sig: &Signature) -> Vec<Elem> {
    if l.is_empty() || r.is_empty() {
        return Vec::new();
    }
    let right: HashSet<Vec<u8>> = r.iter().map(|e| sig.key(&e.metric)).collect();
    l.into_iter()
        .filter(|e| right.contains(&sig.key(&e.metric)))
        .collect()
}

fn or(l: Vec<Elem>, r: Vec<Elem>, sig: &Signature) -> Vec<Elem> {
    if l.is_empty() {
        return r;
    }
    if r.is_empty() {
        return l;
    }
    let left: HashSet<Vec<u8>> = l.iter().map(|e| sig.key(&e.metric)).collect();
    let mut out = l;
    out.extend(r.into_iter().filter(|e| !left.contains(&sig.key(&e.metric))));
    out
}

fn unless(l: Vec<Elem>, r: Vec<Elem>, sig: &Signature) -> Vec<Elem> {
    if l.is_empty() || r.is_empty() {
        return l;
    }
    let right: HashSet<Vec<u8>> = r.iter().map(|e| sig.key(&e.metric)).collect();
    l.into_iter()
        .filter(|e| !right.contains(&sig.key(&e.metric)))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn vector_vector(
    op: u16,
    lhs: Vec<Elem>,
    rhs: Vec<Elem>,
    sig: &Signature,
    matching: Option<&LabelModifier>,
    card: &VectorMatchCardinality,
    return_bool: bool,
    ts: i64,
) -> Result<Vec<Elem>, PromqlError> {
    if lhs.is_empty() || rhs.is_empty() {
        return Ok(Vec::new());
    }
    let one_to_many = matches!(card, VectorMatchCardinality::OneToMany(_));
    let include: Vec<String> = card.labels().map(|l| l.labels.clone()).unwrap_or_default();
    let (many, one) = if one_to_many { (rhs, lhs) } else { (lhs, rhs) };
    let mut one_by_sig: HashMap<Vec<u8>, usize> = HashMap::with_capacity(one.len());
    for (i, e) in one.iter().enumerate() {
        let k = sig.key(&e.metric);
        if let Some(&j) = one_by_sig.get(&k) {
            let side = if one_to_many { "left" } else { "right" };
            let matched = sig.matched_labels(&e.metric);
            let (mut d1, mut d2) = (prom_string(&e.metric), prom_string(&one[j].metric));
            if d1 > d2 {
                std::mem::swap(&mut d1, &mut d2);
            }
            return Err(PromqlError::Execution(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{d1}, {d2}];many-to-many matching not allowed: matching labels must be unique on one side",
                prom_string(&matched)
            )));
        }
        one_by_sig.insert(k, i);
    }
    let one_to_one = matches!(card, VectorMatchCardinality::OneToOne);
    let mut matched_one: HashSet<Vec<u8>> = HashSet::new();
    let mut inserted: HashMap<Vec<u8>, HashSet<Labels>> = HashMap::new();
    let mut out = Vec::new();
    for ls in many {
        let k = sig.key(&ls.metric);
        let Some(&ri) = one_by_sig.get(&k) else {
            continue;
        };
        let rs = &one[ri];
        let (fl, fr) = if one_to_many { (rs.v, ls.v) } else { (ls.v, rs.v) };
        let (mut value, keep) = elem_op(op, fl, fr)?;
        if return_bool {
            value = btos(keep);
        }
        let metric = result_metric(&ls.metric, &rs.metric, op, matching, one_to_one, &include);
        if one_to_one {
            if !matched_one.insert(k) {
                return Err(PromqlError::Execution(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                ));
            }
        } else if !inserted.entry(k).or_default().insert(metric.clone()) {
            return Err(PromqlError::Execution(
                "multiple matches for labels: grouping labels must ensure unique matches".into(),
            ));
        }
        if !keep && !return_bool {
            continue;
        }
        out.push(Elem {
            metric: Arc::new(metric),
            t: ts,
            v: value,
            h: None,
            drop_name: return_bool,
        });
    }
    Ok(out)
}

fn result_metric(
    lhs: &Labels,
    rhs: &Labels,
    op: u16,
    matching: Option<&LabelModifier>,
    one_to_one: bool,
    include: &[String],
) -> Labels {
    let schema_changes = arith(op, 0.0, 0.0).is_some();
    let mut labels: Vec<Label> = lhs
        .iter()
        .filter(|l| !(schema_changes && is_reserved(&l.name)))
        .cloned()
        .collect();
    if one_to_one {
        match matching {
            Some(LabelModifier::Include(on)) => labels.retain(|l| on.labels.contains(&l.name)),
            Some(LabelModifier::Exclude(ign)) => labels.retain(|l| !ign.labels.contains(&l.name)),
            None => {}
        }
    }
    for name in include {
        labels.retain(|l| l.name != *name);
        if let Some(v) = rhs.get(name) {
            labels.push(Label::new(name.clone(), v));
        }
    }
    Labels::new(labels)
}
