//! The geo database of `logins.geoip_database`: a MaxMind DB file
//! (GeoLite2-City, GeoIP2-City, or a Country edition, which has no
//! locations), read whole into memory and checked through at open so a
//! corrupt file is refused then rather than at a lookup. Only the
//! country's ISO code and the location are read.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::Reader;
use serde::Deserialize;

use super::LoginsError;
use super::distance::Point;

/// Where an address is, as far as the database knows.
#[derive(Clone, Debug, PartialEq)]
pub struct Place {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub location: Option<Location>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Location {
    pub point: Point,
    /// The database's accuracy radius, when it gives one.
    pub radius_km: Option<f64>,
}

pub struct GeoDb {
    reader: Reader<Vec<u8>>,
    path: PathBuf,
}

#[derive(Deserialize)]
struct CityRecord<'a> {
    #[serde(borrow, default)]
    country: Option<CountryRecord<'a>>,
    /// Where the network is registered: the country when no other is known.
    #[serde(borrow, default)]
    registered_country: Option<CountryRecord<'a>>,
    #[serde(default)]
    location: Option<LocationRecord>,
}

#[derive(Deserialize)]
struct CountryRecord<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct LocationRecord {
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
    #[serde(default)]
    accuracy_radius: Option<u16>,
}

impl GeoDb {
    /// Reads and checks `path`. Blocks (reads the whole file and walks it).
    pub fn open(path: &Path) -> Result<GeoDb, LoginsError> {
        let problem = |message: String| LoginsError::GeoDatabase {
            path: path.to_path_buf(),
            message,
        };
        let reader = Reader::open_readfile(path).map_err(|e| problem(e.to_string()))?;
        reader
            .verify()
            .map_err(|e| problem(format!("the file is damaged: {e}")))?;
        Ok(GeoDb {
            reader,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the database says, e.g. `GeoLite2-City`.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// `None`: the database does not know the address (private ranges,
    /// an IPv6 address in an IPv4 database) or names no country for it.
    pub fn lookup(&self, ip: IpAddr) -> Result<Option<Place>, LoginsError> {
        if ip.is_ipv6() && self.reader.metadata().ip_version == 4 {
            return Ok(None);
        }
        let found = self
            .reader
            .lookup(ip)
            .map_err(|e| LoginsError::GeoLookup(e.to_string()))?;
        let Some(record) = found
            .decode::<CityRecord<'_>>()
            .map_err(|e| LoginsError::GeoLookup(e.to_string()))?
        else {
            return Ok(None);
        };
        let iso = |c: &Option<CountryRecord<'_>>| {
            c.as_ref()
                .and_then(|c| c.iso_code)
                .filter(|code| !code.is_empty())
                .map(str::to_string)
        };
        let Some(country) = iso(&record.country).or_else(|| iso(&record.registered_country)) else {
            return Ok(None);
        };
        let location = record.location.and_then(|l| {
            let (lat, lon) = (l.latitude?, l.longitude?);
            let valid = lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0;
            valid.then(|| Location {
                point: Point { lat, lon },
                radius_km: l.accuracy_radius.map(f64::from),
            })
        });
        Ok(Some(Place { country, location }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_mmdb::{MmdbWriter, city_record};
    use super::*;

    fn write_db(dir: &Path) -> PathBuf {
        let mut w = MmdbWriter::new("GeoLite2-City");
        w.insert(
            "81.2.69.0".parse().unwrap(),
            24,
            &city_record("GB", Some((51.5142, -0.0931, 10))),
        );
        w.insert(
            "216.160.83.0".parse().unwrap(),
            24,
            &city_record("US", Some((47.2513, -122.3149, 20))),
        );
        w.insert(
            "2001:db8:1::".parse().unwrap(),
            48,
            &city_record("SE", Some((58.4167, 15.6167, 50))),
        );
        w.insert("89.160.0.0".parse().unwrap(), 16, &city_record("DE", None));
        let path = dir.join("City.mmdb");
        std::fs::write(&path, w.to_bytes()).unwrap();
        path
    }

    #[test]
    fn addresses_are_placed_from_a_written_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = GeoDb::open(&write_db(dir.path())).unwrap();
        assert_eq!(db.database_type(), "GeoLite2-City");
        let gb = db.lookup("81.2.69.160".parse().unwrap()).unwrap().unwrap();
        assert_eq!(gb.country, "GB");
        let loc = gb.location.unwrap();
        assert_eq!(
            loc.point,
            Point {
                lat: 51.5142,
                lon: -0.0931
            }
        );
        assert_eq!(loc.radius_km, Some(10.0));
        let us = db.lookup("216.160.83.56".parse().unwrap()).unwrap().unwrap();
        assert_eq!(us.country, "US");
        let se = db.lookup("2001:db8:1::7".parse().unwrap()).unwrap().unwrap();
        assert_eq!(se.country, "SE");
        // A country without a location.
        let de = db.lookup("89.160.20.128".parse().unwrap()).unwrap().unwrap();
        assert_eq!((de.country.as_str(), de.location), ("DE", None));
        // Unknown networks and private ranges.
        assert_eq!(db.lookup("10.0.0.1".parse().unwrap()).unwrap(), None);
        assert_eq!(db.lookup("81.2.70.1".parse().unwrap()).unwrap(), None);
        assert_eq!(db.lookup("2001:db8:2::1".parse().unwrap()).unwrap(), None);
    }

    #[test]
    fn a_missing_or_damaged_file_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.mmdb");
        let e = GeoDb::open(&missing).err().unwrap().to_string();
        assert!(e.contains("nope.mmdb"), "{e}");
        let garbage = dir.path().join("garbage.mmdb");
        std::fs::write(&garbage, b"this is not a maxmind database at all").unwrap();
        let e = GeoDb::open(&garbage).err().unwrap().to_string();
        assert!(e.contains("garbage.mmdb"), "{e}");
        // A real file cut short: the tree points past the data.
        let good = std::fs::read(write_db(dir.path())).unwrap();
        let cut = dir.path().join("cut.mmdb");
        let mut bytes = good[..good.len() / 3].to_vec();
        bytes.extend_from_slice(&good[good.len() - 200.min(good.len())..]);
        std::fs::write(&cut, bytes).unwrap();
        assert!(GeoDb::open(&cut).is_err());
    }
}
