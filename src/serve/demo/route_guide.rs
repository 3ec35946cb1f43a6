//! `RouteGuide` (routeguide.proto): the seed's feature database and its four call styles.
//! Owns the database (embedded, or loaded with `--db`) and the route arithmetic; fixes the seed's
//! `RecordRoute`, which counted features from 1.
use crate::serve::pb::{route_guide_server, Feature, Point, Rectangle, RouteNote, RouteSummary};
use anyhow::Context;
use futures_util::Stream;
use serde::Deserialize;
use std::{collections::HashMap, collections::VecDeque, path::Path, pin::Pin, sync::Arc};
use tokio::time::Instant;
use tonic::{Request, Response, Status, Streaming};

/// The database the seed ships, built into the binary.
pub const DEFAULT_DB: &str = include_str!("../../../data/route_guide_db.json");

/// How many notes of one `RouteChat` stream are remembered: the seed kept them all.
pub const CHAT_MEMORY: usize = 1000;

#[derive(Deserialize)]
struct DbEntry {
    location: DbPoint,
    name: String,
}

#[derive(Deserialize)]
struct DbPoint {
    latitude: i32,
    longitude: i32,
}

/// The features, in database order, with an index by exact location.
#[derive(Debug, Default)]
pub struct FeatureDb {
    features: Vec<Feature>,
    by_location: HashMap<(i32, i32), usize>,
}

impl FeatureDb {
    /// Parses the seed's JSON format: `[{"location": {"latitude", "longitude"}, "name"}, ...]`.
    pub fn from_json(json: &str) -> anyhow::Result<Self> {
        let entries: Vec<DbEntry> = serde_json::from_str(json)?;
        let features: Vec<Feature> = entries
            .into_iter()
            .map(|e| Feature {
                name: e.name,
                location: Some(Point {
                    latitude: e.location.latitude,
                    longitude: e.location.longitude,
                }),
            })
            .collect();
        let mut by_location = HashMap::new();
        for (i, f) in features.iter().enumerate() {
            by_location.entry(key(f.location.as_ref())).or_insert(i);
        }
        Ok(FeatureDb {
            features,
            by_location,
        })
    }

    /// Reads a database file in the seed's JSON format.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let json = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read feature database {}", path.display()))?;
        Self::from_json(&json)
            .with_context(|| format!("invalid feature database {}", path.display()))
    }

    /// The features in database order.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// How many features there are.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    fn at(&self, point: &Point) -> Option<&Feature> {
        self.by_location
            .get(&(point.latitude, point.longitude))
            .map(|&i| &self.features[i])
    }
}

fn key(p: Option<&Point>) -> (i32, i32) {
    p.map_or((0, 0), |p| (p.latitude, p.longitude))
}

/// Great-circle distance in metres between two points given in degrees × 1e7 (haversine, as the seed).
pub fn distance(start: &Point, end: &Point) -> f64 {
    const COORD_FACTOR: f64 = 1e7;
    const R: f64 = 6_371_000.0;
    let lat1 = (start.latitude as f64 / COORD_FACTOR).to_radians();
    let lat2 = (end.latitude as f64 / COORD_FACTOR).to_radians();
    let dlat = lat2 - lat1;
    let dlon = ((end.longitude - start.longitude) as f64 / COORD_FACTOR).to_radians();
    let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    let c = 2.0 * a.sqrt().atan2((1.0 - a).sqrt());
    R * c
}

fn in_rectangle(rect: &Rectangle, p: &Point) -> bool {
    let (lo, hi) = (rect.lo.unwrap_or_default(), rect.hi.unwrap_or_default());
    let (left, right) = (
        lo.longitude.min(hi.longitude),
        lo.longitude.max(hi.longitude),
    );
    let (bottom, top) = (lo.latitude.min(hi.latitude), lo.latitude.max(hi.latitude));
    (left..=right).contains(&p.longitude) && (bottom..=top).contains(&p.latitude)
}

/// The `RouteGuide` service over a feature database.
#[derive(Debug, Clone)]
pub struct RouteGuide {
    db: Arc<FeatureDb>,
}

impl RouteGuide {
    /// A service answering from `db`.
    pub fn new(db: Arc<FeatureDb>) -> Self {
        RouteGuide { db }
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl route_guide_server::RouteGuide for RouteGuide {
    async fn get_feature(&self, request: Request<Point>) -> Result<Response<Feature>, Status> {
        let point = request.into_inner();
        let feature = self.db.at(&point).cloned().unwrap_or(Feature {
            name: String::new(),
            location: Some(point),
        });
        Ok(Response::new(feature))
    }

    type ListFeatureStream = BoxStream<Feature>;

    async fn list_feature(
        &self,
        request: Request<Rectangle>,
    ) -> Result<Response<Self::ListFeatureStream>, Status> {
        let rect = request.into_inner();
        let db = self.db.clone();
        let stream = async_stream::stream! {
            for f in &db.features {
                if f.location.as_ref().is_some_and(|p| in_rectangle(&rect, p)) {
                    yield Ok(f.clone());
                }
            }
        };
        Ok(Response::new(Box::pin(stream)))
    }

    async fn record_route(
        &self,
        request: Request<Streaming<Point>>,
    ) -> Result<Response<RouteSummary>, Status> {
        let mut points = request.into_inner();
        let start = Instant::now();
        let (mut point_count, mut feature_count, mut metres) = (0i32, 0i32, 0f64);
        let mut previous: Option<Point> = None;
        while let Some(point) = points.message().await? {
            point_count = point_count.saturating_add(1);
            if self.db.at(&point).is_some() {
                feature_count = feature_count.saturating_add(1);
            }
            if let Some(prev) = &previous {
                metres += distance(prev, &point);
            }
            previous = Some(point);
        }
        Ok(Response::new(RouteSummary {
            point_count,
            feature_count,
            // `as` saturates: a route longer than i32::MAX metres reports i32::MAX.
            distance: metres as i32,
            elapsed_time: start.elapsed().as_secs().min(i32::MAX as u64) as i32,
        }))
    }

    type RouteChatStream = BoxStream<RouteNote>;

    async fn route_chat(
        &self,
        request: Request<Streaming<RouteNote>>,
    ) -> Result<Response<Self::RouteChatStream>, Status> {
        let mut notes = request.into_inner();
        let stream = async_stream::try_stream! {
            let mut earlier: VecDeque<RouteNote> = VecDeque::new();
            while let Some(note) = notes.message().await? {
                for prev in earlier.iter().filter(|p| p.location == note.location) {
                    yield prev.clone();
                }
                if earlier.len() == CHAT_MEMORY {
                    earlier.pop_front();
                }
                earlier.push_back(note);
            }
        };
        Ok(Response::new(Box::pin(stream)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(latitude: i32, longitude: i32) -> Point {
        Point {
            latitude,
            longitude,
        }
    }

    #[test]
    fn embedded_db_has_the_seed_features() {
        let db = FeatureDb::from_json(DEFAULT_DB).unwrap();
        assert_eq!(db.len(), 100);
        let f = db.at(&p(409146138, -746188906)).unwrap();
        assert_eq!(
            f.name,
            "Berkshire Valley Management Area Trail, Jefferson, NJ, USA"
        );
    }

    #[test]
    fn distance_matches_the_seed_formula() {
        // Python: get_distance(Point(0,0), Point(1e7, 0)) == 111194.92664455873
        assert!((distance(&p(0, 0), &p(10_000_000, 0)) - 111_194.926_644_558_73).abs() < 1e-6);
        assert_eq!(distance(&p(5, 5), &p(5, 5)), 0.0);
    }

    #[test]
    fn rectangle_bounds_are_inclusive_in_any_corner_order() {
        let rect = Rectangle {
            lo: Some(p(10, 20)),
            hi: Some(p(0, 0)),
        };
        assert!(in_rectangle(&rect, &p(10, 20)));
        assert!(in_rectangle(&rect, &p(0, 0)));
        assert!(!in_rectangle(&rect, &p(11, 5)));
    }

    #[test]
    fn bad_database_is_an_error_with_position() {
        let err = FeatureDb::from_json("[{\"name\": 3}]").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
