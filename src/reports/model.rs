//! What a report is, whatever it reports on: a title, the period it
//! covers and sections of blocks — figures, tables, notes — where a block
//! whose query failed or found nothing says so in place of its data, so a
//! report always goes out whole and shows which parts are missing and why.

/// The period a report covers, in Unix milliseconds, `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Period {
    pub fn seconds(&self) -> i64 {
        ((self.end_ms - self.start_ms) / 1000).max(1)
    }

    /// A PromQL/LogQL range covering the period, e.g. `86400s`.
    pub fn range(&self) -> String {
        format!("{}s", self.seconds())
    }

    pub fn contains_ms(&self, t_ms: i64) -> bool {
        t_ms >= self.start_ms && t_ms < self.end_ms
    }
}

/// One report, built and ready to render.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// `daily`, `weekly` or `monthly`.
    pub name: String,
    pub title: String,
    pub period: Period,
    /// The time zone the period's times are written in.
    pub timezone: String,
    pub generated_ms: i64,
    /// The report's page on this server (for the mail's link).
    pub url: String,
    pub sections: Vec<Section>,
}

impl Report {
    /// Sections with a failed block, by title.
    pub fn failed_sections(&self) -> Vec<&str> {
        self.sections
            .iter()
            .filter(|s| s.blocks.iter().any(|b| matches!(b, Block::Failed { .. })))
            .map(|s| s.title.as_str())
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// Stable, for anchors and tests: `alerts`, `errors`, …
    pub id: &'static str,
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Section {
    pub fn new(id: &'static str, title: impl Into<String>) -> Section {
        Section {
            id,
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    pub fn push(&mut self, block: Block) -> &mut Self {
        self.blocks.push(block);
        self
    }
}

/// A figure's or cell's emphasis, drawn as a word and a color.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Ok,
    Warning,
    Critical,
}

impl Tone {
    pub fn class(self) -> &'static str {
        match self {
            Tone::Plain => "plain",
            Tone::Ok => "ok",
            Tone::Warning => "warning",
            Tone::Critical => "critical",
        }
    }
}

/// A headline number: "Alerts fired: 4".
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub label: String,
    pub value: String,
    pub tone: Tone,
}

impl Figure {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Figure {
        Figure {
            label: label.into(),
            value: value.into(),
            tone: Tone::Plain,
        }
    }

    pub fn tone(mut self, tone: Tone) -> Figure {
        self.tone = tone;
        self
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub text: String,
    pub tone: Tone,
    /// A link (on this server, or the page), "" for none.
    pub href: String,
    /// Numbers are right-aligned.
    pub numeric: bool,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            tone: Tone::Plain,
            href: String::new(),
            numeric: false,
        }
    }

    pub fn number(text: impl Into<String>) -> Cell {
        Cell {
            numeric: true,
            ..Cell::text(text)
        }
    }

    pub fn tone(mut self, tone: Tone) -> Cell {
        self.tone = tone;
        self
    }

    pub fn link(mut self, href: impl Into<String>) -> Cell {
        self.href = href.into();
        self
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub caption: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Rows left out beyond the table's limit, said under it.
    pub more: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    Figures(Vec<Figure>),
    Table(Table),
    /// A sentence: what the section counts and how.
    Note(String),
    /// The query ran and found nothing: `what` is missing, `hint` says
    /// where its data would come from.
    NoData {
        what: String,
        hint: String,
    },
    /// The query failed: `what` could not be read, `error` says why.
    Failed {
        what: String,
        error: String,
    },
}

impl Block {
    pub fn table(caption: impl Into<String>, columns: &[&str], rows: Vec<Vec<Cell>>, limit: usize) -> Block {
        let more = rows.len().saturating_sub(limit);
        let mut rows = rows;
        rows.truncate(limit);
        Block::Table(Table {
            caption: caption.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
            more,
        })
    }

    pub fn no_data(what: impl Into<String>, hint: impl Into<String>) -> Block {
        Block::NoData {
            what: what.into(),
            hint: hint.into(),
        }
    }

    pub fn failed(what: impl Into<String>, error: impl std::fmt::Display) -> Block {
        Block::Failed {
            what: what.into(),
            error: error.to_string(),
        }
    }
}

/// A number as reports write it: integers without decimals, others with
/// up to three significant decimals, thousands separated.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() { "—".into() } else { format!("{v}") };
    }
    if (v - v.round()).abs() < 1e-9 && v.abs() < 1e15 {
        return group_thousands(v.round() as i64);
    }
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A share 0–1 as a percentage: `99.95%`.
pub fn percent(ratio: f64) -> String {
    if !ratio.is_finite() {
        return "—".into();
    }
    let p = ratio * 100.0;
    if (99.0..100.0).contains(&p) {
        format!("{p:.2}%")
    } else {
        format!("{p:.1}%")
    }
}

/// Bytes humanized in binary units: `1.5 GiB`.
pub fn bytes(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut x = v.abs();
    let mut unit = 0;
    while x >= 1024.0 && unit < UNITS.len() - 1 {
        x /= 1024.0;
        unit += 1;
    }
    let sign = if v < 0.0 { "-" } else { "" };
    if unit == 0 {
        format!("{sign}{x:.0} B")
    } else {
        format!("{sign}{x:.1} {}", UNITS[unit])
    }
}

/// Seconds humanized: `850 ms`, `2.40 s`, `3.5 min`.
pub fn seconds(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    if v < 1.0 {
        format!("{:.0} ms", v * 1000.0)
    } else if v < 120.0 {
        format!("{v:.2} s")
    } else {
        format!("{:.1} min", v / 60.0)
    }
}

/// A duration in days and hours: `3 d 4 h`, `5 h`, `under an hour`.
pub fn days_hours(secs: f64) -> String {
    if secs < 3600.0 {
        return "under an hour".into();
    }
    let hours = (secs / 3600.0).floor() as i64;
    match (hours / 24, hours % 24) {
        (0, h) => format!("{h} h"),
        (d, 0) => format!("{d} d"),
        (d, h) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(number(1234567.0), "1,234,567");
        assert_eq!(number(-1200.0), "-1,200");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(2.5), "2.50");
        assert_eq!(number(0.1234), "0.123");
        assert_eq!(number(f64::NAN), "—");
        assert_eq!(percent(0.9995), "99.95%");
        assert_eq!(percent(0.5), "50.0%");
        assert_eq!(percent(1.0), "100.0%");
        assert_eq!(bytes(1536.0 * 1024.0 * 1024.0), "1.5 GiB");
        assert_eq!(bytes(100.0), "100 B");
        assert_eq!(seconds(0.25), "250 ms");
        assert_eq!(seconds(2.4), "2.40 s");
        assert_eq!(days_hours(3.0 * 86400.0 + 4.0 * 3600.0), "3 d 4 h");
        assert_eq!(days_hours(5.0 * 3600.0), "5 h");
        assert_eq!(days_hours(86400.0), "1 d");
        assert_eq!(days_hours(10.0), "under an hour");
    }

    #[test]
    fn tables_keep_their_limit_and_count_the_rest() {
        let rows = (0..5).map(|i| vec![Cell::number(i.to_string())]).collect();
        let Block::Table(t) = Block::table("t", &["n"], rows, 3) else {
            panic!()
        };
        assert_eq!((t.rows.len(), t.more), (3, 2));
    }

    #[test]
    fn failed_sections_are_named() {
        let mut ok = Section::new("a", "A");
        ok.push(Block::Note("fine".into()));
        let mut bad = Section::new("b", "B");
        bad.push(Block::failed("x", "boom"));
        let r = Report {
            name: "daily".into(),
            title: "t".into(),
            period: Period {
                start_ms: 0,
                end_ms: 86_400_000,
            },
            timezone: "UTC".into(),
            generated_ms: 0,
            url: String::new(),
            sections: vec![ok, bad],
        };
        assert_eq!(r.failed_sections(), vec!["B"]);
        assert_eq!(r.period.range(), "86400s");
    }
}
