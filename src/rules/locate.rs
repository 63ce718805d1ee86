//! Where a rule's parts sit in its file, for errors found after
//! deserialising (serde gives values, not places): each rule's
//! `record:`/`alert:` line, the place of its `expr:` value — through block
//! scalars (`expr: |`), quotes and folded lines, so a PromQL parse error's
//! `LINE:COL` inside the expression becomes a `FILE:LINE:COLUMN` — and the
//! lines of its label and annotation keys.
//!
//! A best effort over the text: a rule written as a flow mapping
//! (`- {record: x, expr: up}`) is located by its first line only.

use std::sync::Arc;

/// Why a rule was refused, and which part of it is at fault.
#[derive(Debug)]
pub(super) struct Fault {
    pub message: String,
    pub place: Place,
}

#[derive(Debug)]
pub(super) enum Place {
    /// The rule as a whole: its `record:`/`alert:` line.
    Rule,
    /// A 1-based position inside the expression text.
    Expr { line: usize, column: usize },
    /// A key under the rule's `labels:` or `annotations:`.
    Key { section: &'static str, key: String },
}

impl Fault {
    pub fn rule(message: impl Into<String>) -> Fault {
        Fault {
            message: message.into(),
            place: Place::Rule,
        }
    }

    /// The file's 1-based line and column of the fault, where found.
    pub fn place(&self, site: Option<&RuleSite>) -> Option<(usize, usize)> {
        let site = site?;
        match &self.place {
            Place::Rule => None,
            Place::Expr { line, column } => site.expr.as_ref()?.map(*line, *column),
            Place::Key { section, key } => site.key_line(section, key),
        }
    }
}

/// `3:7: parse error: ...` → (3, 7).
pub(super) fn parse_error_position(message: &str) -> Option<(usize, usize)> {
    // LogQL's parser says `parse error at line L, col C: ...`, as Loki's.
    if let Some(rest) = message.strip_prefix("parse error at line ") {
        let (line, rest) = rest.split_once(", col ")?;
        let (column, _) = rest.split_once(':')?;
        return Some((line.trim().parse().ok()?, column.trim().parse().ok()?));
    }
    let (line, rest) = message.split_once(':')?;
    let (column, rest) = rest.split_once(':')?;
    if !rest.trim_start().starts_with("parse error") {
        return None;
    }
    Some((line.trim().parse().ok()?, column.trim().parse().ok()?))
}

/// One rule's lines in the file.
#[derive(Debug, Clone)]
pub(super) struct RuleSite {
    /// 1-based line of the `record:`/`alert:` key.
    pub line: usize,
    /// 0-based indices of the rule mapping's first and past-last lines.
    first: usize,
    end: usize,
    /// Byte column (0-based) of the rule's keys.
    key_indent: usize,
    /// The whole file's lines (shared by every site), for key look-ups.
    lines: Arc<[String]>,
    expr: Option<ExprSite>,
}

/// The source lines an expression's text came from.
#[derive(Debug, Clone)]
struct ExprSite {
    /// `expr: |`: expression line N is segment N. Otherwise (plain,
    /// quoted, `>`), source lines were folded into one with a space.
    literal: bool,
    segs: Vec<Seg>,
}

#[derive(Debug, Clone, Copy)]
struct Seg {
    /// 1-based file line and column where this piece of the expression starts.
    line: usize,
    column: usize,
    len: usize,
}

impl ExprSite {
    fn map(&self, line: usize, column: usize) -> Option<(usize, usize)> {
        let column = column.max(1);
        if self.literal || line > 1 {
            return match self.segs.get(line.max(1) - 1) {
                Some(seg) => Some((seg.line, seg.column + column - 1)),
                // Past the last line: the end of the input.
                None => self.segs.last().map(|s| (s.line, s.column + s.len)),
            };
        }
        let mut offset = column - 1;
        for seg in &self.segs {
            if offset <= seg.len {
                return Some((seg.line, seg.column + offset));
            }
            offset -= seg.len + 1;
        }
        let last = self.segs.last()?;
        Some((last.line, last.column + last.len))
    }
}

impl RuleSite {
    /// The line and column of `key` under the rule's `section:`.
    fn key_line(&self, section: &str, key: &str) -> Option<(usize, usize)> {
        let mut in_section = false;
        for i in self.first..self.end {
            let l = &self.lines[i];
            let Some((k, col)) = key_at(l) else { continue };
            if col <= self.key_indent {
                in_section = col == self.key_indent && k == section;
                continue;
            }
            if in_section && k == key {
                return Some((i + 1, col + 1));
            }
        }
        None
    }
}

/// The key of a YAML mapping line and its byte column: `  - record: x` →
/// (`record`, 4). None for comments, blank lines and non-key lines.
fn key_at(line: &str) -> Option<(&str, usize)> {
    let mut col = line.len() - line.trim_start().len();
    let mut rest = &line[col..];
    while let Some(r) = rest.strip_prefix("- ") {
        let r2 = r.trim_start();
        col += rest.len() - r2.len();
        rest = r2;
    }
    if rest.starts_with('#') || rest.is_empty() {
        return None;
    }
    let (k, _) = rest.split_once(':')?;
    Some((k.trim().trim_matches(|c| c == '"' || c == '\''), col))
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// Every rule's site, in file order (one per `record:`/`alert:` key).
pub(super) fn rule_sites(text: &str) -> Vec<RuleSite> {
    let lines: Arc<[String]> = text.lines().map(str::to_string).collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some((key, key_indent)) = key_at(l) else {
            continue;
        };
        if key != "record" && key != "alert" {
            continue;
        }
        // The item starts at the `- ` that opens this mapping.
        let mut first = i;
        if !l[..key_indent].trim_end().ends_with('-') {
            for j in (0..i).rev() {
                let lj = &lines[j];
                if is_blank_or_comment(lj) {
                    continue;
                }
                if indent(lj) < key_indent {
                    first = j;
                    break;
                }
            }
        }
        let end = (i + 1..lines.len())
            .find(|&k| !is_blank_or_comment(&lines[k]) && indent(&lines[k]) < key_indent)
            .unwrap_or(lines.len());
        let expr = (first..end)
            .find(|&k| key_at(&lines[k]) == Some(("expr", key_indent)))
            .map(|k| expr_site(&lines, k, key_indent, end));
        out.push(RuleSite {
            line: i + 1,
            first,
            end,
            key_indent,
            lines: lines.clone(),
            expr,
        });
    }
    out
}

/// Where the value of the `expr:` key on line `k` (0-based) lies.
fn expr_site(lines: &[String], k: usize, key_indent: usize, end: usize) -> ExprSite {
    let l = &lines[k];
    let after_key = l[key_indent..].find(':').map_or(l.len(), |c| key_indent + c + 1);
    let value_col = after_key + (l[after_key..].len() - l[after_key..].trim_start().len());
    let value = l[value_col..].trim_end();
    // Continuation lines: more indented than the key, until the rule's next key.
    let cont_end = (k + 1..end)
        .find(|&j| !lines[j].trim().is_empty() && indent(&lines[j]) <= key_indent)
        .unwrap_or(end);
    if value.starts_with('|') || value.starts_with('>') {
        let block_indent = (k + 1..cont_end)
            .map(|j| &lines[j])
            .find(|x| !x.trim().is_empty())
            .map_or(key_indent + 2, |x| indent(x));
        let mut segs: Vec<Seg> = (k + 1..cont_end)
            .map(|j| Seg {
                line: j + 1,
                column: block_indent + 1,
                len: lines[j].len().saturating_sub(block_indent),
            })
            .collect();
        while segs.last().is_some_and(|s| s.len == 0) {
            segs.pop();
        }
        return ExprSite {
            literal: value.starts_with('|'),
            segs,
        };
    }
    let quoted = value.starts_with('\'') || value.starts_with('"');
    let start = value_col + usize::from(quoted);
    let first_len = if quoted {
        l.len() - start
    } else {
        // A plain scalar ends at ` #` (a comment).
        value.find(" #").unwrap_or(value.len())
    };
    let mut segs = vec![Seg {
        line: k + 1,
        column: start + 1,
        len: first_len,
    }];
    for (j, x) in lines.iter().enumerate().take(cont_end).skip(k + 1) {
        if x.trim().is_empty() {
            continue;
        }
        segs.push(Seg {
            line: j + 1,
            column: indent(x) + 1,
            len: x.trim().len(),
        });
    }
    ExprSite { literal: false, segs }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr_place(text: &str, line: usize, column: usize) -> Option<(usize, usize)> {
        let sites = rule_sites(text);
        Fault {
            message: String::new(),
            place: Place::Expr { line, column },
        }
        .place(sites.first())
    }

    #[test]
    fn plain_and_quoted_expressions() {
        let text = "groups:\n- name: g\n  rules:\n  - record: x\n    expr: sum(\n";
        assert_eq!(expr_place(text, 1, 5), Some((5, 15)));
        let text = "groups:\n- name: g\n  rules:\n  - record: x\n    expr: 'test +'\n";
        assert_eq!(expr_place(text, 1, 7), Some((5, 18)));
        // `expr` before `alert` in the same item.
        let text = "groups:\n- name: g\n  rules:\n  - expr: up ==\n    alert: A\n";
        assert_eq!(expr_place(text, 1, 6), Some((4, 16)));
    }

    #[test]
    fn block_scalars_start_on_the_next_line() {
        let text = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: |\n      sum by (job) (\n        rate(x[5m]\n      ) > 1\n    for: 5m\n";
        assert_eq!(expr_place(text, 2, 13), Some((7, 19)));
        assert_eq!(expr_place(text, 1, 1), Some((6, 7)));
        assert_eq!(expr_place(text, 4, 1), Some((8, 12)));
        // Folded: the source lines were joined by spaces.
        let text = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: >-\n      sum(x)\n      > (\n";
        assert_eq!(expr_place(text, 1, 10), Some((7, 9)));
    }

    #[test]
    fn keys_under_annotations() {
        let text = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      summary: x\n      bad: '{{'\n  - alert: B\n    expr: up\n";
        let sites = rule_sites(text);
        assert_eq!(sites.len(), 2);
        let f = Fault {
            message: String::new(),
            place: Place::Key {
                section: "annotations",
                key: "bad".into(),
            },
        };
        assert_eq!(f.place(sites.first()), Some((8, 7)));
        assert_eq!(f.place(sites.get(1)), None);
    }

    #[test]
    fn parse_error_positions() {
        assert_eq!(parse_error_position("1:7: parse error: x"), Some((1, 7)));
        assert_eq!(parse_error_position("unknown"), None);
        assert_eq!(
            parse_error_position("parse error at line 2, col 4: syntax error"),
            Some((2, 4))
        );
    }
}
