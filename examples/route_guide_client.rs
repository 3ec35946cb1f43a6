//! The seed's route guide client: all four call styles, printing what the seed's Python client
//! prints. `cargo run --example route_guide_client -- 127.0.0.1:50051`
use rand::seq::IndexedRandom;
use rpcsh::serve::demo::route_guide::{FeatureDb, DEFAULT_DB};
use rpcsh::serve::pb::{
    route_guide_client::RouteGuideClient, Feature, Point, Rectangle, RouteNote,
};

/// A point as Python's `str()` of the message prints it: text format, zero fields left out.
fn text(p: &Option<Point>) -> String {
    let p = p.unwrap_or_default();
    let mut out = String::new();
    for (name, value) in [("latitude", p.latitude), ("longitude", p.longitude)] {
        if value != 0 {
            out += &format!("{name}: {value}\n");
        }
    }
    out
}

fn print_feature(feature: &Feature) {
    if feature.name.is_empty() {
        println!("Found no feature at {}", text(&feature.location));
    } else {
        println!(
            "Feature called {} at {}",
            feature.name,
            text(&feature.location)
        );
    }
}

fn note(message: &str, latitude: i32, longitude: i32) -> RouteNote {
    RouteNote {
        location: Some(Point {
            latitude,
            longitude,
        }),
        message: message.into(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50051".into());
    let mut client = RouteGuideClient::connect(format!("http://{addr}")).await?;

    println!("-------------- GetFeature --------------");
    for point in [
        Point {
            latitude: 409146138,
            longitude: -746188906,
        },
        Point::default(),
    ] {
        print_feature(&client.get_feature(point).await?.into_inner());
    }

    println!("-------------- ListFeatures --------------");
    let rect = Rectangle {
        lo: Some(Point {
            latitude: 400000000,
            longitude: -750000000,
        }),
        hi: Some(Point {
            latitude: 420000000,
            longitude: -730000000,
        }),
    };
    let mut features = client.list_feature(rect).await?.into_inner();
    while let Some(feature) = features.message().await? {
        println!(
            "Feature called {} at {}",
            feature.name,
            text(&feature.location)
        );
    }

    println!("-------------- RecordRoute --------------");
    let db = FeatureDb::from_json(DEFAULT_DB)?;
    let route: Vec<Point> = (0..20)
        .map(|_| {
            let f = db
                .features()
                .choose(&mut rand::rng())
                .expect("the database is not empty");
            println!("random feature {} at {}", f.name, text(&f.location));
            f.location.unwrap_or_default()
        })
        .collect();
    let summary = client
        .record_route(tokio_stream::iter(route))
        .await?
        .into_inner();
    println!(
        "point count: {} feature count: {} distance: {} elapsed time:{}",
        summary.point_count, summary.feature_count, summary.distance, summary.elapsed_time
    );

    println!("-------------- RouteChat --------------");
    let notes = vec![
        note("msg 1", 0, 0),
        note("msg 2", 1, 0),
        note("msg 3", 0, 1),
        note("msg 4", 0, 0),
        note("msg 5", 1, 1),
    ];
    for n in &notes {
        println!("send message {} location {}", n.message, text(&n.location));
    }
    let mut replies = client
        .route_chat(tokio_stream::iter(notes))
        .await?
        .into_inner();
    while let Some(reply) = replies.message().await? {
        println!(
            "recived message {} location {}",
            reply.message,
            text(&reply.location)
        );
    }
    Ok(())
}
