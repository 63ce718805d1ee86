//! Great-circle distance between two points on the Earth, by the haversine
//! formula on a sphere of the mean radius: good to about 0.5 %, far finer
//! than the cities a geo database places addresses in.

/// The mean radius (IUGG), in kilometres.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A point in degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

/// Kilometres along the surface from `a` to `b`.
pub fn great_circle_km(a: Point, b: Point) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    // Rounding can put h a hair outside [0, 1].
    2.0 * EARTH_RADIUS_KM * h.clamp(0.0, 1.0).sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(lat: f64, lon: f64) -> Point {
        Point { lat, lon }
    }

    #[test]
    fn known_distances() {
        // London to Paris is about 344 km; London to New York about 5570 km.
        let london = p(51.5074, -0.1278);
        assert!((great_circle_km(london, p(48.8566, 2.3522)) - 344.0).abs() < 3.0);
        assert!((great_circle_km(london, p(40.7128, -74.0060)) - 5570.0).abs() < 15.0);
        // Half the circumference between antipodes.
        let half = std::f64::consts::PI * EARTH_RADIUS_KM;
        assert!((great_circle_km(p(0.0, 0.0), p(0.0, 180.0)) - half).abs() < 1e-6);
        assert!((great_circle_km(p(90.0, 0.0), p(-90.0, 0.0)) - half).abs() < 1e-6);
    }

    fn point() -> impl Strategy<Value = Point> {
        (-90.0f64..=90.0, -180.0f64..=180.0).prop_map(|(lat, lon)| p(lat, lon))
    }

    proptest! {
        #[test]
        fn a_distance_is_symmetric_bounded_and_zero_to_itself(a in point(), b in point()) {
            let d = great_circle_km(a, b);
            prop_assert!(d >= 0.0 && d.is_finite());
            prop_assert!(d <= std::f64::consts::PI * EARTH_RADIUS_KM + 1e-6);
            prop_assert!((d - great_circle_km(b, a)).abs() < 1e-6);
            prop_assert!(great_circle_km(a, a) < 1e-6);
        }

        #[test]
        fn the_triangle_inequality_holds(a in point(), b in point(), c in point()) {
            let direct = great_circle_km(a, c);
            prop_assert!(direct <= great_circle_km(a, b) + great_circle_km(b, c) + 1e-6);
        }

        #[test]
        fn longitude_wraps_around(a in point(), b in point()) {
            let shifted = p(b.lat, b.lon + 360.0);
            prop_assert!((great_circle_km(a, b) - great_circle_km(a, shifted)).abs() < 1e-6);
        }
    }
}
