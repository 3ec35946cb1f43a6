//! The bundled demo services — the seed's five, rebuilt with tonic, and rpcsh's own `Testing` —
//! and how they are assembled
//! into one set of routes with reflection (v1 and v1alpha) and health. Hosting them on a socket
//! is `crate::serve::server`'s job.
#![warn(missing_docs)]
pub mod cal;
pub mod compute;
pub mod contact;
pub mod greeter;
pub mod route_guide;
pub mod testing;

use crate::serve::pb;
use anyhow::bail;
use std::{sync::Arc, time::Duration};
use tokio::sync::watch;
use tonic::codec::CompressionEncoding;
use tonic::server::NamedService;
use tonic::service::{Routes, RoutesBuilder};
use tonic_health::ServingStatus;

/// One of the seed's services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoService {
    /// `Greeter` (helloworld.proto): SayHello.
    Greeter,
    /// `RouteGuide` (routeguide.proto): all four call styles over a feature database.
    RouteGuide,
    /// `compute.Compute` (compute.proto): the code points of a text.
    Compute,
    /// `Cal` (SimpleCal.proto): Add and Multiply.
    Cal,
    /// `Contact` (contact.proto): tasks pushed to subscribers, results reported back.
    Contact,
    /// rpcsh's own `rpcsh.testing.v1.Testing`, not from the seed.
    Testing,
}

impl DemoService {
    /// Every demo service, in the order `serve` lists them.
    pub const ALL: [DemoService; 6] = [
        DemoService::Greeter,
        DemoService::RouteGuide,
        DemoService::Compute,
        DemoService::Cal,
        DemoService::Contact,
        DemoService::Testing,
    ];

    /// The fully-qualified gRPC service name, as reflection and health know it.
    pub fn full_name(self) -> &'static str {
        match self {
            DemoService::Greeter => <pb::greeter_server::GreeterServer<greeter::Greeter>>::NAME,
            DemoService::RouteGuide => {
                <pb::route_guide_server::RouteGuideServer<route_guide::RouteGuide>>::NAME
            }
            DemoService::Compute => {
                <pb::compute::compute_server::ComputeServer<compute::Compute>>::NAME
            }
            DemoService::Cal => <pb::cal_server::CalServer<cal::Cal>>::NAME,
            DemoService::Contact => <pb::contact_server::ContactServer<contact::Contact>>::NAME,
            DemoService::Testing => {
                <pb::testing::testing_server::TestingServer<testing::Testing>>::NAME
            }
        }
    }

    /// Accepts the short lower-case name (`routeguide`) or the service name in any case
    /// (`RouteGuide`, `compute.Compute`, `Compute`).
    pub fn parse(name: &str) -> anyhow::Result<Self> {
        let wanted = name.to_ascii_lowercase().replace(['-', '_'], "");
        for s in Self::ALL {
            let full = s.full_name().to_ascii_lowercase();
            let short = full.rsplit('.').next().unwrap_or(&full);
            if wanted == full || wanted == short {
                return Ok(s);
            }
        }
        let known: Vec<_> = Self::ALL.iter().map(|s| s.full_name()).collect();
        bail!(
            "unknown demo service {name:?} (known: {})",
            known.join(", ")
        )
    }
}

/// What the demo services are built from.
#[derive(Debug)]
pub struct DemoConfig {
    /// The services to host.
    pub services: Vec<DemoService>,
    /// RouteGuide's features.
    pub db: Arc<route_guide::FeatureDb>,
    /// How often Contact's generator produces a batch of tasks; zero disables it.
    pub task_interval: Duration,
    /// Largest message a service accepts or sends, in bytes.
    pub max_message_size: usize,
    /// Compress responses with this encoding (requests in gzip, zstd or deflate are always read).
    pub compress: Option<CompressionEncoding>,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            services: DemoService::ALL.to_vec(),
            max_message_size: crate::sys::util::DEFAULT_MAX_MESSAGE_SIZE,
            db: Arc::new(
                route_guide::FeatureDb::from_json(route_guide::DEFAULT_DB)
                    .expect("the embedded database is valid"),
            ),
            task_interval: Duration::from_secs(10),
            compress: None,
        }
    }
}

/// Builds the routes for `config.services`, reflection v1 and v1alpha (listing exactly the
/// services hosted) and `grpc.health.v1.Health` reporting each of them SERVING. Must run inside
/// a tokio runtime: Contact's generator is spawned on it. Streams that would otherwise never end
/// (Contact's `getTask`) end when `shutdown` turns true.
pub async fn routes(config: DemoConfig, shutdown: watch::Receiver<bool>) -> anyhow::Result<Routes> {
    let mut builder = RoutesBuilder::default();
    let (health, health_service) = tonic_health::server::health_reporter();
    builder.add_service(health_service);

    let limit = config.max_message_size;
    let compress = config.compress;
    // The same limits and encodings on every generated server type.
    macro_rules! limited {
        ($server:expr) => {{
            let server = $server
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .accept_compressed(CompressionEncoding::Deflate);
            match compress {
                Some(encoding) => server.send_compressed(encoding),
                None => server,
            }
        }};
    }
    let mut names: Vec<&str> = Vec::new();
    for service in &config.services {
        if names.contains(&service.full_name()) {
            continue;
        }
        match service {
            DemoService::Greeter => builder.add_service(limited!(
                pb::greeter_server::GreeterServer::new(greeter::Greeter)
            )),
            DemoService::RouteGuide => {
                builder.add_service(limited!(pb::route_guide_server::RouteGuideServer::new(
                    route_guide::RouteGuide::new(config.db.clone()),
                )))
            }
            DemoService::Compute => builder.add_service(limited!(
                pb::compute::compute_server::ComputeServer::new(compute::Compute)
            )),
            DemoService::Cal => {
                builder.add_service(limited!(pb::cal_server::CalServer::new(cal::Cal)))
            }
            DemoService::Contact => {
                let contact = contact::Contact::new(shutdown.clone());
                if !config.task_interval.is_zero() {
                    contact.spawn_generator(config.task_interval);
                }
                builder.add_service(limited!(pb::contact_server::ContactServer::new(contact)))
            }
            DemoService::Testing => builder.add_service(limited!(
                pb::testing::testing_server::TestingServer::new(testing::Testing)
            )),
        };
        names.push(service.full_name());
        health
            .set_service_status(service.full_name(), ServingStatus::Serving)
            .await;
    }

    let reflection = || {
        let mut b = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .include_reflection_service(false);
        for name in names.iter().copied().chain(INFRA_SERVICES) {
            b = b.with_service_name(name);
        }
        b
    };
    builder.add_service(reflection().build_v1()?);
    builder.add_service(reflection().build_v1alpha()?);
    Ok(builder.routes())
}

/// The services every demo server hosts beside the demo ones.
pub const INFRA_SERVICES: [&str; 3] = [
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.health.v1.Health",
];
