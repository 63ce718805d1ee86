//! What every page's frame shows around its content: the navigation, who
//! is signed in (and the CSRF token their page's changes send), the theme,
//! the time picker with the URL's range, and the asset version. Taken from
//! the request by one extractor, so a page handler asks only for its own
//! data.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::auth::Permission;
use crate::auth::token_secret::csrf_token;
use crate::web::access::Principal;
use crate::web::access::credentials::{cookie, session_cookie};

use super::times::{self, DEFAULT_FROM, REFRESH_CHOICES, RELATIVE_RANGES};

/// The pages in the navigation, in its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Overview,
    Dashboards,
    Explore,
    Logs,
    Errors,
    Alerts,
    Reports,
    Silences,
    Targets,
    Status,
    Admin,
}

struct NavEntry {
    section: Section,
    href: &'static str,
    label: &'static str,
    needs: Permission,
}

const NAV: &[NavEntry] = &[
    NavEntry {
        section: Section::Overview,
        href: "/",
        label: "Overview",
        needs: Permission::Read,
    },
    NavEntry {
        section: Section::Dashboards,
        href: "/dashboards",
        label: "Dashboards",
        needs: Permission::Read,
    },
    NavEntry {
        section: Section::Explore,
        href: "/explore",
        label: "Explore",
        needs: Permission::Read,
    },
    NavEntry {
        section: Section::Logs,
        href: "/logs",
        label: "Logs",
        needs: Permission::Read,
    },
    NavEntry {
        section: Section::Errors,
        href: "/errors",
        label: "Errors",
        needs: Permission::Read,
    },
    NavEntry {
        section: Section::Alerts,
        href: "/alerts",
        label: "Alerts",
        needs: Permission::Read,
    },
    NavEntry {
        section: Section::Reports,
        href: "/reports",
        label: "Reports",
        needs: Permission::Read,
    },
    NavEntry {
        section: Section::Silences,
        href: "/silences",
        label: "Silences",
        needs: Permission::Read,
    },
    NavEntry {
        section: Section::Targets,
        href: "/targets",
        label: "Targets",
        needs: Permission::Read,
    },
    NavEntry {
        section: Section::Status,
        href: "/status",
        label: "Status",
        needs: Permission::Read,
    },
    NavEntry {
        section: Section::Admin,
        href: "/admin",
        label: "Admin",
        needs: Permission::Admin,
    },
];

/// One navigation link as the template draws it.
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// One `<option>` of a picker.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// Epoch milliseconds as templates hand them over: a value, or a
/// reference to one through any number of `&`s (loop variables, fields).
pub trait Millis {
    fn millis(&self) -> i64;
}

impl Millis for i64 {
    fn millis(&self) -> i64 {
        *self
    }
}

impl<T: Millis + ?Sized> Millis for &T {
    fn millis(&self) -> i64 {
        (**self).millis()
    }
}

/// The frame of a page.
pub struct Frame {
    principal: Principal,
    /// The signed-in person's name and role, for the header.
    pub user: Option<(String, String)>,
    /// The session's CSRF token ("" without a session): pages put it in a
    /// `<meta>` for their scripts' changes.
    pub csrf: String,
    /// "light", "dark", or "" to follow the system.
    pub theme: String,
    /// The URL's range as given (Grafana's form) and resolved.
    pub from: String,
    pub to: String,
    pub refresh: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub now_ms: i64,
    pub assets: &'static str,
    /// Alert flood mode while it is on: the banner every page shows.
    pub flood: Option<FloodBanner>,
}

/// The frame's banner while alert flood mode is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FloodBanner {
    /// The end as `HH:MM` UTC, and in full for `<time datetime>`.
    pub until_hhmm: String,
    pub until_iso: String,
    pub secondary_receiver: String,
    /// The overrides in force, comma-separated ("" for none).
    pub overrides: String,
    pub reason: String,
}

impl FloodBanner {
    pub fn of(flood: &crate::alerting::FloodMode) -> Option<FloodBanner> {
        let state = flood.status()?;
        let until = chrono::DateTime::<chrono::Utc>::from(state.ends_at());
        Some(FloodBanner {
            until_hhmm: until.format("%H:%M UTC").to_string(),
            until_iso: crate::model::rfc3339(state.ends_at()),
            secondary_receiver: flood.config().map(|c| c.secondary_receiver).unwrap_or_default(),
            overrides: state.overrides.join(", "),
            reason: state.reason,
        })
    }
}

impl Frame {
    /// Whether the banner offers turning flood mode off.
    pub fn may_end_flood(&self) -> bool {
        self.allows(Permission::Write)
    }

    pub fn allows(&self, p: Permission) -> bool {
        self.principal.allows(p)
    }

    pub fn nav(&self, current: &Section) -> Vec<NavLink> {
        NAV.iter()
            .filter(|e| self.allows(e.needs))
            .map(|e| NavLink {
                href: e.href,
                label: e.label,
                current: e.section == *current,
            })
            .collect()
    }

    pub fn ranges(&self) -> Vec<Choice> {
        let known = RELATIVE_RANGES.iter().any(|(v, _)| *v == self.from);
        RELATIVE_RANGES
            .iter()
            .map(|(value, label)| Choice {
                value,
                label,
                selected: if known {
                    *value == self.from
                } else {
                    *value == DEFAULT_FROM
                },
            })
            .collect()
    }

    pub fn refreshes(&self) -> Vec<Choice> {
        REFRESH_CHOICES
            .iter()
            .map(|(value, label)| Choice {
                value,
                label,
                selected: *value == self.refresh,
            })
            .collect()
    }

    /// `from=…&to=…` for links that keep the range across pages.
    pub fn range_query(&self) -> String {
        format!(
            "from={}&to={}",
            super::super::access::percent_encode(&self.from),
            super::super::access::percent_encode(&self.to)
        )
    }

    pub fn ago(&self, ms: impl Millis) -> String {
        times::ago(ms.millis(), self.now_ms)
    }

    /// For `<time datetime>`, which scripts turn into local time.
    pub fn iso(&self, ms: impl Millis) -> String {
        times::iso(ms.millis())
    }

    pub(crate) fn from_parts(parts: &Parts) -> Frame {
        let principal = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .unwrap_or(Principal::Anonymous);
        let user = match &principal {
            Principal::Person { name, role } => Some((name.clone(), role.as_str().to_string())),
            _ => None,
        };
        let csrf = session_cookie(&parts.headers)
            .map(|s| csrf_token(&s))
            .unwrap_or_default();
        let query = parts.uri.query().unwrap_or_default();
        let param = |name: &str| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let now_ms = times::now_ms();
        let from = param("from").unwrap_or_else(|| DEFAULT_FROM.to_string());
        let to = param("to").unwrap_or_else(|| "now".to_string());
        let (start_ms, end_ms) = times::range(Some(&from), Some(&to), now_ms);
        Frame {
            principal,
            user,
            csrf,
            theme: theme_cookie(&parts.headers),
            from,
            to,
            refresh: param("refresh").unwrap_or_default(),
            start_ms,
            end_ms,
            now_ms,
            assets: super::assets::version(),
            flood: None,
        }
    }
}

impl FromRequestParts<std::sync::Arc<crate::web::state::AppState>> for Frame {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &std::sync::Arc<crate::web::state::AppState>,
    ) -> Result<Self, Self::Rejection> {
        let mut frame = Frame::from_parts(parts);
        // Whoever may read a page sees flood mode, which mutes their alerts.
        frame.flood = state.flood.as_deref().and_then(FloodBanner::of);
        Ok(frame)
    }
}

/// The theme a person chose (`belfry_theme` cookie, set by the page's
/// switch); a page follows the system's preference without it.
fn theme_cookie(headers: &HeaderMap) -> String {
    cookie(headers, "belfry_theme")
        .filter(|t| t == "light" || t == "dark")
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use axum::http::{Request, header};

    fn frame(uri: &str, principal: Principal, cookie: Option<&str>) -> Frame {
        let mut req = Request::builder().uri(uri);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let (mut parts, ()) = req.body(()).unwrap().into_parts();
        parts.extensions.insert(principal);
        Frame::from_parts(&parts)
    }

    #[test]
    fn a_viewer_sees_the_pages_it_may_read() {
        let viewer = Principal::Person {
            name: "ada".into(),
            role: Role::Viewer,
        };
        let f = frame("/", viewer, None);
        let nav = f.nav(&Section::Targets);
        assert!(nav.iter().any(|l| l.href == "/targets" && l.current));
        assert_eq!(nav.iter().filter(|l| l.current).count(), 1);
        assert_eq!(f.user, Some(("ada".into(), "viewer".into())));
    }

    #[test]
    fn the_range_comes_from_the_url_and_marks_its_choice() {
        let f = frame("/?from=now-24h&to=now&refresh=30s", Principal::Open, None);
        assert_eq!(f.end_ms - f.start_ms, 24 * 3_600_000);
        assert!(f.ranges().iter().any(|c| c.value == "now-24h" && c.selected));
        assert!(f.refreshes().iter().any(|c| c.value == "30s" && c.selected));
        assert_eq!(f.range_query(), "from=now-24h&to=now");
    }

    #[test]
    fn an_unknown_range_selects_the_default_choice() {
        let f = frame("/?from=1700000000000&to=1700003600000", Principal::Open, None);
        assert_eq!((f.start_ms, f.end_ms), (1_700_000_000_000, 1_700_003_600_000));
        assert!(f.ranges().iter().any(|c| c.value == DEFAULT_FROM && c.selected));
    }

    #[test]
    fn the_theme_cookie_is_taken_only_when_known() {
        let f = frame("/", Principal::Open, Some("a=b; belfry_theme=dark"));
        assert_eq!(f.theme, "dark");
        let f = frame("/", Principal::Open, Some("belfry_theme=\"><script>"));
        assert_eq!(f.theme, "");
    }
}
