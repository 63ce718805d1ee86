//! `ip("…")` in LogQL: a line filter (`|= ip("10.0.0.0/8")`) or a label
//! filter (`| addr = ip("…")`) keeping what holds an address in the
//! pattern — one address, a CIDR prefix, or a range `first-last` — of
//! either family, as Loki's `ip()` does.

use std::net::IpAddr;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpPattern {
    Addr(IpAddr),
    Prefix { net: IpAddr, bits: u8 },
    Range { first: IpAddr, last: IpAddr },
}

impl IpPattern {
    pub fn parse(src: &str) -> Result<IpPattern, String> {
        let bad = || {
            format!(
                "ip: invalid pattern {src:?}: expected an address, a CIDR prefix (10.0.0.0/8) or a range (10.0.0.1-10.0.0.9)"
            )
        };
        if let Ok(a) = IpAddr::from_str(src) {
            return Ok(IpPattern::Addr(a));
        }
        if let Some((net, bits)) = src.split_once('/') {
            let net = IpAddr::from_str(net).map_err(|_| bad())?;
            let bits: u8 = bits.parse().map_err(|_| bad())?;
            let max = if net.is_ipv4() { 32 } else { 128 };
            if bits > max {
                return Err(bad());
            }
            return Ok(IpPattern::Prefix { net, bits });
        }
        if let Some((first, last)) = src.split_once('-') {
            let first = IpAddr::from_str(first).map_err(|_| bad())?;
            let last = IpAddr::from_str(last).map_err(|_| bad())?;
            if first.is_ipv4() != last.is_ipv4() || first > last {
                return Err(bad());
            }
            return Ok(IpPattern::Range { first, last });
        }
        Err(bad())
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match self {
            IpPattern::Addr(a) => *a == ip,
            IpPattern::Range { first, last } => {
                first.is_ipv4() == ip.is_ipv4() && *first <= ip && ip <= *last
            }
            IpPattern::Prefix { net, bits } => match (net, ip) {
                (IpAddr::V4(n), IpAddr::V4(a)) => {
                    let mask = u32::MAX.checked_shl(32 - u32::from(*bits)).unwrap_or(0);
                    u32::from(*n) & mask == u32::from(a) & mask
                }
                (IpAddr::V6(n), IpAddr::V6(a)) => {
                    let mask = u128::MAX.checked_shl(128 - u32::from(*bits)).unwrap_or(0);
                    u128::from(*n) & mask == u128::from(a) & mask
                }
                _ => false,
            },
        }
    }

    /// Whether `text` holds an address the pattern contains. Addresses are
    /// the runs of hex digits, `:` and `.` that parse as one; in a run that
    /// does not (`10.0.0.1:5432`, `ab1.2.3.4`), the runs of digits and
    /// dots that parse as an IPv4 address.
    pub fn matches_in(&self, text: &str) -> bool {
        text.split(|c: char| !(c.is_ascii_hexdigit() || c == ':' || c == '.'))
            .filter(|run| run.len() >= 2)
            .any(|run| {
                // A sentence's full stop or a label's colon may follow.
                let run = run.trim_end_matches(['.', ':']);
                if let Ok(ip) = IpAddr::from_str(run) {
                    return self.contains(ip);
                }
                run.split(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .map(|part| part.trim_matches('.'))
                    .any(|part| IpAddr::from_str(part).is_ok_and(|ip| self.contains(ip)))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses_prefixes_and_ranges_of_both_families() {
        let p = IpPattern::parse("192.168.0.0/16").unwrap();
        assert!(p.matches_in("GET / from 192.168.4.2:5510 ok"));
        assert!(!p.matches_in("GET / from 192.169.4.2 ok"));
        assert!(!p.matches_in("no address"));
        let p = IpPattern::parse("10.0.0.5-10.0.0.9").unwrap();
        assert!(p.matches_in("client=10.0.0.7."));
        assert!(!p.matches_in("client=10.0.0.10"));
        let p = IpPattern::parse("2001:db8::/32").unwrap();
        assert!(p.matches_in("peer [2001:db8::1] closed"));
        assert!(!p.matches_in("peer 2001:db9::1 closed"));
        let p = IpPattern::parse("::1").unwrap();
        assert!(p.matches_in("listening on ::1"));
        assert!(IpPattern::parse("0.0.0.0/0").unwrap().matches_in("ip 8.8.8.8"));
        assert!(!IpPattern::parse("0.0.0.0/0").unwrap().matches_in("ip ::1"));
    }

    #[test]
    fn bad_patterns_name_the_problem() {
        for bad in [
            "",
            "10.0.0",
            "10.0.0.0/33",
            "10.0.0.9-10.0.0.1",
            "10.0.0.1-::1",
            "abc",
        ] {
            assert!(
                IpPattern::parse(bad).unwrap_err().contains("ip: invalid pattern"),
                "{bad}"
            );
        }
    }

    proptest! {
        #[test]
        fn an_address_is_found_where_it_is_written(a in any::<u32>(), bits in 0u8..=32, pre in "[ a-z=,]{0,8}", post in "[ a-z,]{0,8}") {
            let ip = std::net::Ipv4Addr::from(a);
            let line = format!("{pre} {ip} {post}");
            let p = IpPattern::parse(&format!("{ip}/{bits}")).unwrap();
            prop_assert!(p.matches_in(&line), "{}", line);
            prop_assert!(IpPattern::parse(&ip.to_string()).unwrap().matches_in(&line));
        }

        #[test]
        fn never_panics(pattern in "\\PC{0,24}", line in "\\PC{0,60}") {
            if let Ok(p) = IpPattern::parse(&pattern) {
                let _ = p.matches_in(&line);
            }
        }
    }
}
