//! The code generated from `proto/` (messages, clients and servers of the demo services) and the
//! encoded descriptor set that reflection serves. Four seed protos have no package, so their
//! types share one module, as protoc would have them.

// Generated code: its lints are not ours to fix.
#![allow(clippy::all, missing_docs, non_camel_case_types)]

include!(concat!(env!("OUT_DIR"), "/_.rs"));

/// The `compute` package of `compute.proto`.
pub mod compute {
    include!(concat!(env!("OUT_DIR"), "/compute.rs"));
}

/// Every file of `proto/`, encoded as a `google.protobuf.FileDescriptorSet`.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));

/// `rpcsh.testing.v1`: the `Testing` service of `testing.proto`.
pub mod testing {
    include!(concat!(env!("OUT_DIR"), "/rpcsh.testing.v1.rs"));
}

/// The demo protos as a pool, for tests that know the demo API.
pub fn pool() -> prost_reflect::DescriptorPool {
    prost_reflect::DescriptorPool::decode(FILE_DESCRIPTOR_SET)
        .expect("the demo descriptors are valid")
}
