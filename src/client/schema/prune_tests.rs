//! The pruning of encoded files: what builds keep, cut and stub.
use super::*;
use prost_reflect::DescriptorPool;

fn demo_files() -> Files {
    let set =
        prost_types::FileDescriptorSet::decode(crate::serve::pb::FILE_DESCRIPTOR_SET).unwrap();
    let mut files = Files::default();
    for f in set.file {
        assert!(files.insert(f.encode_to_vec()));
    }
    files
}

fn pool(files: &Files, roots: Option<&[String]>) -> DescriptorPool {
    let (set, missing) = files.build(roots, None, false);
    assert!(missing.is_empty(), "{missing:?}");
    DescriptorPool::decode(set.as_slice()).unwrap()
}

#[test]
fn a_method_root_builds_that_method_and_its_types_only() {
    let files = demo_files();
    let pool = pool(&files, Some(&["RouteGuide.GetFeature".to_string()]));
    let service = pool.get_service_by_name("RouteGuide").unwrap();
    assert_eq!(
        service
            .methods()
            .map(|m| m.name().to_string())
            .collect::<Vec<_>>(),
        ["GetFeature"]
    );
    assert!(pool.get_message_by_name("Feature").is_some());
    assert!(pool.get_message_by_name("Point").is_some());
    assert!(pool.get_message_by_name("RouteNote").is_none());
    assert!(pool.get_service_by_name("Greeter").is_none());
    let whole = pool_of_everything(&files);
    assert!(whole.get_message_by_name("RouteNote").is_some());
    assert!(whole.all_messages().count() > pool.all_messages().count());
}

#[test]
fn packed_files_build_what_the_raw_ones_build() {
    let files = demo_files();
    let packed = files.packed();
    assert!(packed
        .files
        .iter()
        .all(|f| matches!(f.bytes, Stored::Packed { .. })));
    assert_eq!(packed.size(), files.size());
    for roots in [None, Some(&["RouteGuide.GetFeature".to_string()][..])] {
        assert_eq!(
            packed.build(roots, None, false).0,
            files.build(roots, None, false).0
        );
    }
    assert_eq!(packed.methods("RouteGuide"), files.methods("RouteGuide"));
}

fn pool_of_everything(files: &Files) -> DescriptorPool {
    pool(files, None)
}

#[test]
fn relative_names_and_missing_imports_are_resolved() {
    // As grpc-js sends them: no imports, names relative to the package.
    let types = prost_types::FileDescriptorProto {
        name: Some("acme_types_v1.proto".into()),
        package: Some("acme.types.v1".into()),
        message_type: vec![prost_types::DescriptorProto {
            name: Some("Author".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let field = |name: &str, number, type_name: &str| prost_types::FieldDescriptorProto {
        name: Some(name.into()),
        number: Some(number),
        r#type: Some(prost_types::field_descriptor_proto::Type::Message as i32),
        type_name: Some(type_name.into()),
        ..Default::default()
    };
    let library = prost_types::FileDescriptorProto {
        name: Some("acme_library_v2.proto".into()),
        package: Some("acme.library.v2".into()),
        message_type: vec![prost_types::DescriptorProto {
            name: Some("Book".into()),
            field: vec![
                field("author", 1, "types.v1.Author"),
                field("review", 2, "Review"),
            ],
            nested_type: vec![prost_types::DescriptorProto {
                name: Some("Review".into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut files = Files::default();
    files.insert(library.encode_to_vec());
    files.insert(types.encode_to_vec());
    let pool = pool(&files, Some(&["acme.library.v2.Book".to_string()]));
    let book = pool.get_message_by_name("acme.library.v2.Book").unwrap();
    let kind = |f: &str| {
        book.get_field_by_name(f)
            .unwrap()
            .kind()
            .as_message()
            .unwrap()
            .full_name()
            .to_string()
    };
    assert_eq!(kind("author"), "acme.types.v1.Author");
    assert_eq!(kind("review"), "acme.library.v2.Book.Review");
}

#[test]
fn a_name_nowhere_is_reported_with_its_file() {
    let mut files = demo_files();
    let broken = prost_types::FileDescriptorProto {
        name: Some("broken.proto".into()),
        message_type: vec![prost_types::DescriptorProto {
            name: Some("Broken".into()),
            field: vec![prost_types::FieldDescriptorProto {
                name: Some("x".into()),
                number: Some(1),
                type_name: Some(".nowhere.Thing".into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    files.insert(broken.encode_to_vec());
    let (_, missing) = files.build(Some(&["Broken".to_string()]), None, false);
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].0, "broken.proto");
    assert_eq!(missing[0].2, ["nowhere.Thing"]);
}

#[test]
fn a_one_shot_build_leaves_file_options_out_but_editions_features_in() {
    let file = |options: Vec<u8>| {
        let mut proto = prost_types::FileDescriptorProto {
            name: Some("o.proto".into()),
            package: Some("o".into()),
            syntax: Some("proto3".into()),
            message_type: vec![prost_types::DescriptorProto {
                name: Some("M".into()),
                ..Default::default()
            }],
            ..Default::default()
        }
        .encode_to_vec();
        prost::encoding::bytes::encode(OPTIONS, &options, &mut proto);
        proto
    };
    // java_package "abc"; then the same with features { field_presence: 2 } (field 50).
    let java = vec![0x0a, 3, b'a', b'b', b'c'];
    let featured = [java.clone(), vec![0x92, 0x03, 2, 0x08, 0x02]].concat();
    assert!(!has_features(&java) && has_features(&featured));
    for (options, kept) in [(java, false), (featured, true)] {
        let mut files = Files::default();
        assert!(files.insert(file(options)));
        let roots = ["o.M".to_string()];
        let one_shot = pool(&files, Some(&roots));
        let m = one_shot.get_message_by_name("o.M").unwrap();
        let encoded = m.parent_file().file_descriptor_proto().options.is_some();
        assert_eq!(encoded, kept);
        // Everything built (the shell) keeps them all.
        let whole = pool_of_everything(&files);
        let file = whole.get_message_by_name("o.M").unwrap().parent_file();
        assert!(file.file_descriptor_proto().options.is_some());
    }
}
