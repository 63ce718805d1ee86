//! The LogQL parser for log queries and range aggregations, by recursive
//! descent over the text. Errors name the line and column, as Loki's do.
//! The operators around range aggregations (`sum by`, `topk`, `+`, …) are
//! PromQL's and are parsed by `query.rs` through the PromQL parser.

use crate::model::{MatchOp, Matcher, compile_go_regex};
use crate::template::Template;

use super::ast::{
    CmpOp, Extraction, Grouping, LabelFilter, LabelFormat, LabelSpec, LineFilter, LineFilterOp, LogSelector,
    NumberKind, RangeAggregation, RangeFn, Stage, Unwrap, UnwrapConversion,
};
use super::error::LogqlError;
use super::ip_filter::IpPattern;
use super::literals::{is_byte_unit, parse_bytes, parse_duration_ns, read_string};
use super::pattern::Pattern;
use super::template_text::prepare_template;

/// Longest query text accepted.
pub const MAX_QUERY_BYTES: usize = 64 << 10;
/// Deepest nesting of label filter parentheses.
const MAX_DEPTH: usize = 64;

pub struct Cursor<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
}

type PResult<T> = Result<T, LogqlError>;

impl<'a> Cursor<'a> {
    pub fn new(src: &'a str, pos: usize) -> Self {
        Cursor { src, pos, depth: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    pub fn error(&self, msg: impl std::fmt::Display) -> LogqlError {
        error_at(self.src, self.pos, msg)
    }

    pub fn skip_ws(&mut self) {
        let rest = self.rest();
        let trimmed = rest.trim_start();
        self.pos += rest.len() - trimmed.len();
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.rest().chars().next()
    }

    fn eat(&mut self, s: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, s: &str) -> PResult<()> {
        if self.eat(s) {
            Ok(())
        } else {
            Err(self.error(format!("expected {s:?}, found {}", self.found())))
        }
    }

    fn found(&self) -> String {
        let rest = self.rest().trim_start();
        if rest.is_empty() {
            return "end of query".into();
        }
        let t: String = rest.chars().take(12).collect();
        format!("{t:?}")
    }

    /// The identifier at the cursor without taking it.
    fn peek_ident(&mut self) -> Option<&'a str> {
        self.skip_ws();
        let rest = self.rest();
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            let ok = if i == 0 {
                c == '_' || c.is_ascii_alphabetic()
            } else {
                c == '_' || c == '.' || c.is_ascii_alphanumeric()
            };
            if !ok {
                break;
            }
            end = i + c.len_utf8();
        }
        (end > 0).then(|| &rest[..end])
    }

    pub fn ident(&mut self) -> PResult<&'a str> {
        match self.peek_ident() {
            Some(id) => {
                self.pos += id.len();
                Ok(id)
            }
            None => Err(self.error(format!("expected a label name, found {}", self.found()))),
        }
    }

    /// Takes `word` when it is the whole next identifier.
    pub fn eat_keyword(&mut self, word: &str) -> bool {
        if self.peek_ident() == Some(word) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn string(&mut self) -> PResult<String> {
        self.skip_ws();
        match read_string(self.rest()) {
            Ok(Some((s, n))) => {
                self.pos += n;
                Ok(s)
            }
            Ok(None) => Err(self.error(format!("expected a string, found {}", self.found()))),
            Err(e) => Err(self.error(e)),
        }
    }

    fn at_string(&mut self) -> bool {
        matches!(self.peek(), Some('"' | '`' | '\''))
    }

    /// A number, duration or byte-size literal: the run of characters
    /// that can make one.
    fn literal_word(&mut self) -> &'a str {
        self.skip_ws();
        let rest = self.rest();
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            let ok = c.is_ascii_alphanumeric() || c == '.' || c == 'µ' || ((c == '-' || c == '+') && i == 0);
            if !ok {
                break;
            }
            end = i + c.len_utf8();
        }
        self.pos += end;
        &rest[..end]
    }

    pub fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos >= self.src.len()
    }
}

pub fn error_at(src: &str, pos: usize, msg: impl std::fmt::Display) -> LogqlError {
    let before = &src[..pos.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    LogqlError::Parse(format!("parse error at line {line}, col {col}: {msg}"))
}

/// A whole log query: `{…} | …`.
pub fn parse_log_query(src: &str) -> PResult<LogSelector> {
    check_size(src)?;
    let mut c = Cursor::new(src, 0);
    let sel = log_selector(&mut c)?;
    if c.peek_unwrap() {
        return Err(c.error("unwrap is only allowed inside a range aggregation such as sum_over_time"));
    }
    if !c.at_end() {
        return Err(c.error(format!("unexpected {}", c.found())));
    }
    Ok(sel)
}

pub fn check_size(src: &str) -> PResult<()> {
    if src.len() > MAX_QUERY_BYTES {
        return Err(LogqlError::Parse(format!(
            "query is {} bytes, more than the limit of {MAX_QUERY_BYTES}",
            src.len()
        )));
    }
    Ok(())
}

impl Cursor<'_> {
    fn peek_unwrap(&mut self) -> bool {
        let save = self.pos;
        let found = self.eat("|") && self.eat_keyword("unwrap");
        self.pos = save;
        found
    }
}

/// `{name op "value", …}`.
pub fn stream_selector(c: &mut Cursor) -> PResult<Vec<Matcher>> {
    c.expect("{")?;
    let mut matchers = Vec::new();
    loop {
        if c.eat("}") {
            break;
        }
        let name = c.ident()?.to_string();
        let op = matcher_op(c, Some(&name))?;
        let value = c.string()?;
        let m = Matcher::new(op, name, value).map_err(|e| c.error(e))?;
        matchers.push(m);
        if c.eat(",") {
            continue;
        }
        c.expect("}")?;
        break;
    }
    if matchers.iter().all(Matcher::matches_empty) {
        return Err(c.error(
            "queries require at least one regexp or equality matcher that does not have an empty-compatible value",
        ));
    }
    Ok(matchers)
}

/// A selector and its pipeline (up to `| unwrap`, a range, `)` or the end).
pub fn log_selector(c: &mut Cursor) -> PResult<LogSelector> {
    let matchers = stream_selector(c)?;
    let pipeline = pipeline(c)?;
    Ok(LogSelector { matchers, pipeline })
}

fn pipeline(c: &mut Cursor) -> PResult<Vec<Stage>> {
    let mut stages = Vec::new();
    loop {
        c.skip_ws();
        let rest = c.rest();
        let line_op = [
            ("|=", LineFilterOp::Contains),
            ("!=", LineFilterOp::NotContains),
            ("|~", LineFilterOp::Matches),
            ("!~", LineFilterOp::NotMatches),
            ("|>", LineFilterOp::PatternMatches),
            ("!>", LineFilterOp::PatternNotMatches),
        ]
        .into_iter()
        .find(|(t, _)| rest.starts_with(t));
        if let Some((tok, op)) = line_op {
            c.pos += tok.len();
            stages.push(Stage::LineFilter(line_filter(c, op)?));
            continue;
        }
        if !rest.starts_with('|') || c.peek_unwrap() {
            return Ok(stages);
        }
        c.pos += 1;
        stages.push(stage(c)?);
    }
}

fn line_filter(c: &mut Cursor, op: LineFilterOp) -> PResult<LineFilter> {
    if c.peek_ident() == Some("ip") {
        let op = match op {
            LineFilterOp::Contains => LineFilterOp::Ip,
            LineFilterOp::NotContains => LineFilterOp::NotIp,
            _ => return Err(c.error("ip(\"…\") filters lines with |= or != only")),
        };
        let pattern = ip_call(c)?;
        return Ok(LineFilter {
            op,
            values: vec![pattern.0],
            regexes: Vec::new(),
            patterns: Vec::new(),
            ip: Some(pattern.1),
        });
    }
    let mut values = Vec::new();
    loop {
        values.push(c.string()?);
        if !c.eat_keyword("or") {
            break;
        }
    }
    let regexes = match op {
        LineFilterOp::Matches | LineFilterOp::NotMatches => values
            .iter()
            .map(|v| {
                compile_go_regex(v).map_err(|e| c.error(format!("invalid regular expression {v:?}: {e}")))
            })
            .collect::<PResult<_>>()?,
        _ => Vec::new(),
    };
    let patterns = match op {
        LineFilterOp::PatternMatches | LineFilterOp::PatternNotMatches => values
            .iter()
            .map(|v| Pattern::parse_filter(v).map_err(|e| c.error(e)))
            .collect::<PResult<_>>()?,
        _ => Vec::new(),
    };
    Ok(LineFilter {
        op,
        values,
        regexes,
        patterns,
        ip: None,
    })
}

/// `ip("…")` at the cursor: the pattern's text and the pattern.
fn ip_call(c: &mut Cursor) -> PResult<(String, IpPattern)> {
    c.ident()?;
    c.expect("(")?;
    let start = c.pos;
    let src = c.string()?;
    let pattern = IpPattern::parse(&src).map_err(|e| error_at(c.src, start, e))?;
    c.expect(")")?;
    Ok((src, pattern))
}

fn stage(c: &mut Cursor) -> PResult<Stage> {
    let Some(word) = c.peek_ident() else {
        if c.peek() == Some('(') {
            return Ok(Stage::LabelFilter(label_filter(c)?));
        }
        return Err(c.error(format!("expected a pipeline stage after |, found {}", c.found())));
    };
    let is_stage_word = |c: &mut Cursor| {
        // `| json` is a parser, `| json="x"` a label filter on a label named json.
        let save = c.pos;
        c.pos += word.len();
        let next = c.peek();
        c.pos = save;
        !matches!(next, Some('=' | '!' | '>' | '<'))
    };
    if !is_stage_word(c) {
        return Ok(Stage::LabelFilter(label_filter(c)?));
    }
    let stage = match word {
        "json" => {
            c.pos += word.len();
            Stage::Json(extractions(c, false)?)
        }
        "logfmt" => {
            c.pos += word.len();
            let (mut strict, mut keep_empty) = (false, false);
            loop {
                if c.eat("--strict") {
                    strict = true;
                } else if c.eat("--keep-empty") {
                    keep_empty = true;
                } else {
                    break;
                }
            }
            Stage::Logfmt {
                strict,
                keep_empty,
                extractions: extractions(c, true)?,
            }
        }
        "pattern" => {
            c.pos += word.len();
            let src = c.string()?;
            Stage::Pattern(Pattern::parse(&src).map_err(|e| c.error(e))?)
        }
        "regexp" => {
            c.pos += word.len();
            let src = c.string()?;
            let re = compile_go_regex(&src)
                .map_err(|e| c.error(format!("invalid regular expression {src:?}: {e}")))?;
            if re.capture_names().flatten().next().is_none() {
                return Err(c.error(format!(
                    "regexp {src:?} has no named capture group such as (?P<name>...)"
                )));
            }
            Stage::Regexp(re)
        }
        "line_format" => {
            c.pos += word.len();
            let src = c.string()?;
            Stage::LineFormat(template(c, &src)?)
        }
        "label_format" => {
            c.pos += word.len();
            let mut items = Vec::new();
            loop {
                let dst = c.ident()?.to_string();
                c.expect("=")?;
                if c.at_string() {
                    let src = c.string()?;
                    items.push(LabelFormat::Template {
                        dst,
                        template: template(c, &src)?,
                    });
                } else {
                    let src = c.ident()?.to_string();
                    items.push(LabelFormat::Rename { dst, src });
                }
                if !c.eat(",") {
                    break;
                }
            }
            Stage::LabelFormat(items)
        }
        "drop" | "keep" => {
            c.pos += word.len();
            let mut specs = Vec::new();
            loop {
                let name = c.ident()?.to_string();
                let spec = if c.rest_starts_with_matcher_op() {
                    let op = matcher_op(c, None)?;
                    let value = c.string()?;
                    LabelSpec::Matcher(Matcher::new(op, name, value).map_err(|e| c.error(e))?)
                } else {
                    LabelSpec::Name(name)
                };
                specs.push(spec);
                if !c.eat(",") {
                    break;
                }
            }
            if word == "drop" {
                Stage::Drop(specs)
            } else {
                Stage::Keep(specs)
            }
        }
        "decolorize" => {
            c.pos += word.len();
            Stage::Decolorize
        }
        "unpack" => {
            c.pos += word.len();
            Stage::Unpack
        }
        _ => Stage::LabelFilter(label_filter(c)?),
    };
    Ok(stage)
}

impl Cursor<'_> {
    fn rest_starts_with_matcher_op(&mut self) -> bool {
        self.skip_ws();
        let r = self.rest();
        r.starts_with('=') || r.starts_with("!=") || r.starts_with("!~")
    }
}

/// A matcher's operator; `after` names the label it follows, for the error.
fn matcher_op(c: &mut Cursor, after: Option<&str>) -> PResult<MatchOp> {
    Ok(if c.eat("=~") {
        MatchOp::Regex
    } else if c.eat("!~") {
        MatchOp::NotRegex
    } else if c.eat("!=") {
        MatchOp::NotEqual
    } else if c.eat("=") {
        MatchOp::Equal
    } else {
        let after = after.map(|name| format!(" after {name:?}")).unwrap_or_default();
        return Err(c.error(format!("expected =, !=, =~ or !~{after}, found {}", c.found())));
    })
}

fn template(c: &Cursor, src: &str) -> PResult<Template> {
    Template::parse_notification(&prepare_template(src))
        .map_err(|e| c.error(format!("invalid template {src:?}: {e}")))
}

/// `| json a, b="x.y"` / `| logfmt a, b="c"`: nothing, or a list.
fn extractions(c: &mut Cursor, logfmt: bool) -> PResult<Vec<Extraction>> {
    let mut out = Vec::new();
    if c.peek_ident().is_none() {
        return Ok(out);
    }
    loop {
        let label = c.ident()?.to_string();
        let expr = if c.eat("=") {
            let e = c.string()?;
            if !logfmt {
                super::parsers::parse_json_path(&e).map_err(|m| c.error(m))?;
            }
            Some(e)
        } else {
            None
        };
        out.push(Extraction { label, expr });
        if !c.eat(",") {
            return Ok(out);
        }
    }
}

/// `a="x" and (b>5 or c=~"y")`; `,` and a plain space also mean `and`.
pub fn label_filter(c: &mut Cursor) -> PResult<LabelFilter> {
    c.depth += 1;
    if c.depth > MAX_DEPTH {
        return Err(c.error("label filter nested too deeply"));
    }
    let mut left = label_filter_and(c)?;
    while c.eat_keyword("or") {
        let right = label_filter_and(c)?;
        left = LabelFilter::Or(Box::new(left), Box::new(right));
    }
    c.depth -= 1;
    Ok(left)
}

fn label_filter_and(c: &mut Cursor) -> PResult<LabelFilter> {
    let mut left = label_filter_leaf(c)?;
    loop {
        if c.eat_keyword("and") || c.eat(",") {
            let right = label_filter_leaf(c)?;
            left = LabelFilter::And(Box::new(left), Box::new(right));
            continue;
        }
        // Another predicate right after one, separated by a space.
        let implicit = match c.peek_ident() {
            Some("or") | Some("and") | None => c.peek() == Some('('),
            Some(_) => true,
        };
        if implicit {
            let right = label_filter_leaf(c)?;
            left = LabelFilter::And(Box::new(left), Box::new(right));
            continue;
        }
        return Ok(left);
    }
}

fn label_filter_leaf(c: &mut Cursor) -> PResult<LabelFilter> {
    if c.eat("(") {
        let f = label_filter(c)?;
        c.expect(")")?;
        return Ok(f);
    }
    let name = c.ident()?.to_string();
    let ops = [
        ("==", Some(CmpOp::Eq)),
        ("=~", None),
        ("!~", None),
        ("!=", Some(CmpOp::Ne)),
        (">=", Some(CmpOp::Ge)),
        ("<=", Some(CmpOp::Le)),
        (">", Some(CmpOp::Gt)),
        ("<", Some(CmpOp::Lt)),
        ("=", Some(CmpOp::Eq)),
    ];
    c.skip_ws();
    let Some((tok, cmp)) = ops.into_iter().find(|(t, _)| c.rest().starts_with(t)) else {
        return Err(c.error(format!(
            "expected a comparison after {name:?}, found {}",
            c.found()
        )));
    };
    c.pos += tok.len();
    if c.peek_ident() == Some("ip") {
        let negated = match tok {
            "=" | "==" => false,
            "!=" => true,
            _ => return Err(c.error(format!("{name} {tok} ip(…): ip() takes = or != only"))),
        };
        let (_, pattern) = ip_call(c)?;
        return Ok(LabelFilter::Ip {
            name,
            negated,
            pattern,
        });
    }
    if c.at_string() {
        let op = match tok {
            "=" | "==" => MatchOp::Equal,
            "!=" => MatchOp::NotEqual,
            "=~" => MatchOp::Regex,
            "!~" => MatchOp::NotRegex,
            _ => {
                return Err(c.error(format!(
                    "{tok} compares numbers; {name} {tok} takes a number, duration or size"
                )));
            }
        };
        let value = c.string()?;
        return Ok(LabelFilter::Text(
            Matcher::new(op, name, value).map_err(|e| c.error(e))?,
        ));
    }
    let Some(op) = cmp else {
        return Err(c.error(format!("{tok} takes a string")));
    };
    let start = c.pos;
    let word = c.literal_word();
    let (kind, value) = number_literal(word).ok_or_else(|| {
        error_at(
            c.src,
            start,
            format!("expected a string, number, duration or byte size after {name} {tok}, found {word:?}"),
        )
    })?;
    Ok(LabelFilter::Number {
        name,
        op,
        kind,
        value,
    })
}

/// A number, a duration (as seconds) or a byte size.
pub fn number_literal(word: &str) -> Option<(NumberKind, f64)> {
    if word.is_empty() {
        return None;
    }
    if let Ok(n) = word.parse::<f64>()
        && !word.eq_ignore_ascii_case("nan")
        && !word.to_ascii_lowercase().contains("inf")
    {
        return Some((NumberKind::Number, n));
    }
    if let Some(ns) = parse_duration_ns(word) {
        return Some((NumberKind::Duration, ns / 1e9));
    }
    let digits = word.trim_start_matches(['-', '+']);
    let unit_at = digits.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    if is_byte_unit(&digits[unit_at..]) {
        let b = parse_bytes(digits)?;
        return Some((NumberKind::Bytes, if word.starts_with('-') { -b } else { b }));
    }
    None
}

/// `fn(` at the cursor (after the name) through its `)` and grouping.
pub fn range_aggregation(c: &mut Cursor, func: RangeFn) -> PResult<RangeAggregation> {
    c.expect("(")?;
    let param = if func == RangeFn::QuantileOverTime {
        let start = c.pos;
        let w = c.literal_word();
        let q: f64 = w.parse().map_err(|_| {
            error_at(
                c.src,
                start,
                format!("quantile_over_time takes a number first, found {w:?}"),
            )
        })?;
        c.expect(",")?;
        Some(q)
    } else {
        None
    };
    let matchers = stream_selector(c)?;
    // Loki takes the range right after the selector too: `{a="b"}[5m] | json`.
    let early_range = if c.peek() == Some('[') {
        Some(range(c)?)
    } else {
        None
    };
    let pipeline = pipeline(c)?;
    let unwrap = if c.peek_unwrap() {
        c.expect("|")?;
        c.eat_keyword("unwrap");
        Some(unwrap(c)?)
    } else {
        None
    };
    let range_ns = match early_range {
        Some(r) => r,
        None => range(c)?,
    };
    let offset_ns = if c.eat_keyword("offset") {
        let start = c.pos;
        let w = c.literal_word();
        parse_duration_ns(w)
            .map(|ns| ns as i64)
            .ok_or_else(|| error_at(c.src, start, format!("offset takes a duration, found {w:?}")))?
    } else {
        0
    };
    c.expect(")")?;
    let grouping = grouping(c)?;
    if func.needs_unwrap() && unwrap.is_none() {
        return Err(c.error(format!(
            "{} needs an unwrapped value: add | unwrap <label> before the range",
            func.name()
        )));
    }
    if unwrap.is_some() && !func.allows_unwrap() {
        return Err(c.error(format!("{} does not take | unwrap", func.name())));
    }
    Ok(RangeAggregation {
        func,
        param,
        selector: LogSelector { matchers, pipeline },
        unwrap,
        range_ns,
        offset_ns,
        grouping,
    })
}

fn range(c: &mut Cursor) -> PResult<i64> {
    c.expect("[")?;
    let start = c.pos;
    let w = c.literal_word();
    let ns = parse_duration_ns(w).filter(|ns| *ns >= 1e6).ok_or_else(|| {
        error_at(
            c.src,
            start,
            format!("expected a positive range such as 5m, found {w:?}"),
        )
    })?;
    c.expect("]")?;
    Ok(ns as i64)
}

fn unwrap(c: &mut Cursor) -> PResult<Unwrap> {
    let first = c.ident()?;
    let (label, conversion) = if c.eat("(") {
        let conv = match first {
            "duration" | "duration_seconds" => UnwrapConversion::Duration,
            "bytes" => UnwrapConversion::Bytes,
            other => {
                return Err(c.error(format!(
                    "unknown unwrap conversion {other:?}: use duration(), duration_seconds() or bytes()"
                )));
            }
        };
        let label = c.ident()?.to_string();
        c.expect(")")?;
        (label, conv)
    } else {
        (first.to_string(), UnwrapConversion::Plain)
    };
    let mut post_filters = Vec::new();
    loop {
        let save = c.pos;
        if c.eat("|") && !c.rest().trim_start().starts_with(['=', '~']) {
            post_filters.push(label_filter(c)?);
        } else {
            c.pos = save;
            break;
        }
    }
    Ok(Unwrap {
        label,
        conversion,
        post_filters,
    })
}

fn grouping(c: &mut Cursor) -> PResult<Option<Grouping>> {
    let by = if c.eat_keyword("by") {
        true
    } else if c.eat_keyword("without") {
        false
    } else {
        return Ok(None);
    };
    c.expect("(")?;
    let mut names = Vec::new();
    if !c.eat(")") {
        loop {
            names.push(c.ident()?.to_string());
            if c.eat(",") {
                continue;
            }
            c.expect(")")?;
            break;
        }
    }
    Ok(Some(if by {
        Grouping::By(names)
    } else {
        Grouping::Without(names)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages(q: &str) -> Vec<Stage> {
        parse_log_query(q).unwrap().pipeline
    }

    #[test]
    fn selectors_and_line_filters() {
        let s = parse_log_query(
            r#"{service="api", level=~"error|warning"} |= "timeout" or "refused" != "health" |~ "5\\d\\d""#,
        )
        .unwrap();
        assert_eq!(s.matchers.len(), 2);
        assert_eq!(s.pipeline.len(), 3);
        let Stage::LineFilter(f) = &s.pipeline[0] else {
            panic!()
        };
        assert_eq!(f.values, ["timeout", "refused"]);
        assert!(matches!(&s.pipeline[1], Stage::LineFilter(f) if f.op == LineFilterOp::NotContains));
        assert!(matches!(&s.pipeline[2], Stage::LineFilter(f) if f.regexes.len() == 1));
    }

    #[test]
    fn parsers_formats_and_label_filters() {
        let p = stages(
            r#"{service="api"} | json | logfmt --strict a, b="c" | pattern "<m> <p>" | regexp "(?P<x>\\d+)"
               | status >= 500 and duration > 1s or size < 10KB | line_format "{{.path}} {{__line__}}"
               | label_format dst=src, t="{{.a}}" | drop a, b="x" | keep c"#,
        );
        assert_eq!(p.len(), 9);
        let Stage::LabelFilter(LabelFilter::Or(l, r)) = &p[4] else {
            panic!("{:?}", p[4])
        };
        assert!(matches!(**l, LabelFilter::And(..)));
        assert!(
            matches!(**r, LabelFilter::Number { kind: NumberKind::Bytes, value, .. } if value == 10_000.0)
        );
        let Stage::Json(x) = &p[0] else { panic!() };
        assert!(x.is_empty());
    }

    #[test]
    fn ip_pattern_line_filters_unpack_and_rate_counter() {
        let p = stages(
            r#"{a="b"} |= ip("10.0.0.0/8") != ip("10.1.0.1-10.1.0.9") |> "<_> GET <_>" or "x <_>" !> "<_> 404" | unpack | addr = ip("::1") | peer != ip("192.168.0.1")"#,
        );
        assert_eq!(p.len(), 7);
        assert!(matches!(&p[0], Stage::LineFilter(f) if f.op == LineFilterOp::Ip && f.ip.is_some()));
        assert!(matches!(&p[1], Stage::LineFilter(f) if f.op == LineFilterOp::NotIp));
        assert!(
            matches!(&p[2], Stage::LineFilter(f) if f.op == LineFilterOp::PatternMatches && f.patterns.len() == 2)
        );
        assert!(matches!(&p[3], Stage::LineFilter(f) if f.op == LineFilterOp::PatternNotMatches));
        assert!(matches!(&p[4], Stage::Unpack));
        assert!(matches!(
            &p[5],
            Stage::LabelFilter(LabelFilter::Ip { negated: false, .. })
        ));
        assert!(matches!(
            &p[6],
            Stage::LabelFilter(LabelFilter::Ip { negated: true, .. })
        ));

        let e = parse_log_query(r#"{a="b"} |= ip("10.0.0.0/40")"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ip: invalid pattern") && e.contains("col 15"), "{e}");
        let e = parse_log_query(r#"{a="b"} |~ ip("10.0.0.1")"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("|= or != only"), "{e}");
        let e = parse_log_query(r#"{a="b"} | x > ip("10.0.0.1")"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("= or != only"), "{e}");

        let src = r#"rate_counter({a="b"} | logfmt | unwrap bytes_total [5m])"#;
        let mut c = Cursor::new(src, src.find('(').unwrap());
        let r = range_aggregation(&mut c, RangeFn::RateCounter).unwrap();
        assert!(r.unwrap.is_some());
        let src = r#"rate_counter({a="b"}[5m])"#;
        let mut c = Cursor::new(src, src.find('(').unwrap());
        assert!(range_aggregation(&mut c, RangeFn::RateCounter).is_err());
    }

    #[test]
    fn implicit_and_between_label_filters() {
        let p = stages(r#"{a="b"} | x="1" y!="2", z=~"3""#);
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn label_named_like_a_parser_is_a_filter() {
        let p = stages(r#"{a="b"} | json="x""#);
        assert!(matches!(&p[0], Stage::LabelFilter(LabelFilter::Text(_))));
    }

    #[test]
    fn range_aggregations() {
        let src = r#"quantile_over_time(0.99, {service="api"} | json | unwrap duration(took) | __error__="" [5m] offset 1h) by (path)"#;
        let name_end = src.find('(').unwrap();
        let mut c = Cursor::new(src, name_end);
        let r = range_aggregation(&mut c, RangeFn::QuantileOverTime).unwrap();
        assert!(c.at_end());
        assert_eq!(r.param, Some(0.99));
        assert_eq!(r.range_ns, 300_000_000_000);
        assert_eq!(r.offset_ns, 3_600_000_000_000);
        assert_eq!(r.grouping, Some(Grouping::By(vec!["path".into()])));
        let u = r.unwrap.unwrap();
        assert_eq!(u.conversion, UnwrapConversion::Duration);
        assert_eq!(u.post_filters.len(), 1);

        let src = r#"count_over_time({a="b"}[1m] |= "x")"#;
        let mut c = Cursor::new(src, src.find('(').unwrap());
        let r = range_aggregation(&mut c, RangeFn::CountOverTime).unwrap();
        assert_eq!(r.selector.pipeline.len(), 1);
    }

    #[test]
    fn errors_name_the_place_and_the_problem() {
        let e = parse_log_query(r#"{a=~".*"}"#).unwrap_err().to_string();
        assert!(e.contains("empty-compatible"), "{e}");
        let e = parse_log_query(r#"{a="b"} |= "x" | foo > "#)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("parse error at line 1, col "), "{e}");
        let e = parse_log_query(r#"{a="b"} |~ "(""#).unwrap_err().to_string();
        assert!(e.contains("invalid regular expression"), "{e}");
        let e = parse_log_query(r#"{a="b"} | unwrap x"#).unwrap_err().to_string();
        assert!(e.contains("range aggregation"), "{e}");
        let src = r#"sum_over_time({a="b"}[5m])"#;
        let mut c = Cursor::new(src, src.find('(').unwrap());
        let e = range_aggregation(&mut c, RangeFn::SumOverTime)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unwrap"), "{e}");
    }

    #[test]
    fn number_literals() {
        assert_eq!(number_literal("500"), Some((NumberKind::Number, 500.0)));
        assert_eq!(number_literal("1.5s"), Some((NumberKind::Duration, 1.5)));
        assert_eq!(number_literal("250ms"), Some((NumberKind::Duration, 0.25)));
        assert_eq!(number_literal("2MiB"), Some((NumberKind::Bytes, 2_097_152.0)));
        assert_eq!(number_literal("abc"), None);
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    fn op() -> impl Strategy<Value = MatchOp> {
        prop_oneof![
            Just(MatchOp::Equal),
            Just(MatchOp::NotEqual),
            Just(MatchOp::Regex),
            Just(MatchOp::NotRegex)
        ]
    }

    proptest! {
        /// A selector written from any names, operators and values (quoted
        /// with escapes) parses back to those matchers, and any line
        /// filter's needle back to itself.
        #[test]
        fn selectors_and_filters_round_trip(
            first in "[a-z_][a-z0-9_]{0,8}",
            value in "[a-z]{1,6}",
            rest in proptest::collection::vec(("[a-z_][a-z0-9_]{0,8}", op(), "[a-zA-Z0-9 \"\\\\\n\t]{0,10}"), 0..4),
            needle in "\\PC{0,20}",
            filter_op in prop_oneof![Just("|="), Just("!="), Just("|>"), Just("!>")],
        ) {
            let quote = |s: &str| serde_json::to_string(s).unwrap();
            let mut text = format!("{{{first}={}", quote(&value));
            let mut expected = vec![(first.clone(), MatchOp::Equal, value.clone())];
            for (name, op, v) in &rest {
                // Only values that are valid regexes are written with a regex operator.
                if matches!(op, MatchOp::Regex | MatchOp::NotRegex) && compile_go_regex(v).is_err() {
                    continue;
                }
                text.push_str(&format!(", {name}{}{}", op.as_str(), quote(v)));
                expected.push((name.clone(), *op, v.clone()));
            }
            // Patterns with two captures in a row are refused, as they should be.
            prop_assume!(!filter_op.ends_with('>') || Pattern::parse_filter(&needle).is_ok());
            text.push_str(&format!("}} {filter_op} {}", quote(&needle)));
            let sel = parse_log_query(&text).unwrap();
            let got: Vec<(String, MatchOp, String)> =
                sel.matchers.iter().map(|m| (m.name.clone(), m.op, m.value.clone())).collect();
            prop_assert_eq!(got, expected);
            let Stage::LineFilter(f) = &sel.pipeline[0] else { panic!("not a line filter") };
            prop_assert_eq!(&f.values, &vec![needle]);
        }

        /// `ip("…")` of any address, prefix or range parses, as a line
        /// filter and as a label filter, and keeps what it names.
        #[test]
        fn ip_filters_parse_and_keep_their_address(a in any::<u32>(), bits in 0u8..=32, negated in any::<bool>()) {
            let ip = std::net::Ipv4Addr::from(a);
            let (line_op, label_op) = if negated { ("!=", "!=") } else { ("|=", "=") };
            let text = format!(r#"{{a="b"}} {line_op} ip("{ip}/{bits}") | addr {label_op} ip("{ip}")"#);
            let sel = parse_log_query(&text).unwrap();
            let Stage::LineFilter(f) = &sel.pipeline[0] else { panic!("not a line filter") };
            prop_assert_eq!(crate::logql::pipeline::line_filter_matches(f, &format!("from {ip} ok")), !negated);
            let Stage::LabelFilter(LabelFilter::Ip { negated: n, .. }) = &sel.pipeline[1] else { panic!("not an ip filter") };
            prop_assert_eq!(*n, negated);
        }

        /// The parser never panics, whatever it is given.
        #[test]
        fn never_panics(text in "\\PC{0,60}") {
            let _ = crate::logql::parse_query(&text);
        }

        /// Numbers, durations and byte sizes read back their value.
        #[test]
        fn number_literals_read_back(n in 0u32..100_000, unit in prop_oneof![Just(""), Just("s"), Just("ms"), Just("KB"), Just("MiB")]) {
            let (kind, v) = number_literal(&format!("{n}{unit}")).unwrap();
            let expected = match unit {
                "" => (NumberKind::Number, f64::from(n)),
                "s" => (NumberKind::Duration, f64::from(n)),
                "ms" => (NumberKind::Duration, f64::from(n) / 1000.0),
                "KB" => (NumberKind::Bytes, f64::from(n) * 1000.0),
                _ => (NumberKind::Bytes, f64::from(n) * 1_048_576.0),
            };
            prop_assert_eq!(kind, expected.0);
            prop_assert!((v - expected.1).abs() < 1e-9 * expected.1.max(1.0));
        }
    }
}
