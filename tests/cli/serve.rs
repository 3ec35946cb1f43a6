//! `rpcsh serve` and `rpcsh demo`: the demo services, reflection, health, TLS, shutdown.
use super::*;
use rpcsh::serve::pb;
use std::process::Command;
use std::time::Duration;
use tonic::transport::Channel;

#[tokio::test]
async fn serve_prints_the_real_address_and_exits_0_on_sigterm() {
    let mut server = quiet();
    let port: u16 = server.addr.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0);
    let mut greeter = pb::greeter_client::GreeterClient::new(server.channel().await);
    let reply = greeter
        .say_hello(pb::HelloRequest { name: "x".into() })
        .await
        .unwrap();
    assert_eq!(reply.into_inner().message, "hello x");
    assert!(server.terminate().success());
}

#[tokio::test]
async fn greeter_and_compute_and_cal() {
    let server = quiet();
    let channel = server.channel().await;
    let mut greeter = pb::greeter_client::GreeterClient::new(channel.clone());
    let again = greeter
        .say_hello_again(pb::HelloRequest {
            name: "世界".into(),
        })
        .await
        .unwrap();
    assert_eq!(again.into_inner().message, "hello 世界");

    let mut compute = pb::compute::compute_client::ComputeClient::new(channel.clone());
    for (text, len) in [
        ("你好", "2"),
        ("123456", "6"),
        ("", "0"),
        ("e\u{301}🦀", "3"),
    ] {
        let reply = compute
            .say_hello(pb::compute::HelloRequest {
                helloworld: text.into(),
            })
            .await
            .unwrap();
        assert_eq!(reply.into_inner().result, len, "len of {text:?}");
    }

    let mut cal = pb::cal_client::CalClient::new(channel);
    let sum = cal
        .add(pb::AddRequest {
            number1: 100,
            number2: 300,
        })
        .await
        .unwrap();
    assert_eq!(sum.into_inner().number, 400);
    let product = cal
        .multiply(pb::MultiplyRequest {
            number1: -46341,
            number2: 46340,
        })
        .await
        .unwrap();
    assert_eq!(product.into_inner().number, -2147441940);
    let min = cal
        .add(pb::AddRequest {
            number1: i32::MIN,
            number2: 0,
        })
        .await
        .unwrap();
    assert_eq!(min.into_inner().number, i32::MIN);
    for (a, b) in [(i32::MAX, 1), (i32::MIN, -1)] {
        let err = cal
            .add(pb::AddRequest {
                number1: a,
                number2: b,
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::OutOfRange);
        assert!(
            err.message().contains(&format!("{a} + {b}")),
            "{}",
            err.message()
        );
    }
    let err = cal
        .multiply(pb::MultiplyRequest {
            number1: 65536,
            number2: -32769,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::OutOfRange);
    assert!(
        err.message().contains("65536 * -32769"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn route_guide_unary_and_server_stream() {
    let server = quiet();
    let mut client = pb::route_guide_client::RouteGuideClient::new(server.channel().await);
    let found = client
        .get_feature(point(409146138, -746188906))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        found.name,
        "Berkshire Valley Management Area Trail, Jefferson, NJ, USA"
    );
    let missing = client.get_feature(point(1, 2)).await.unwrap().into_inner();
    assert_eq!(
        missing,
        pb::Feature {
            name: String::new(),
            location: Some(point(1, 2))
        }
    );

    // A one-point rectangle, corners swapped: inclusive bounds find exactly that feature.
    let rect = pb::Rectangle {
        lo: Some(point(409146138, -746188906)),
        hi: Some(point(409146138, -746188906)),
    };
    let mut stream = client.list_feature(rect).await.unwrap().into_inner();
    assert_eq!(stream.message().await.unwrap().unwrap().name, found.name);
    assert!(stream.message().await.unwrap().is_none());

    let rect = pb::Rectangle {
        lo: Some(point(420000000, -730000000)),
        hi: Some(point(400000000, -750000000)),
    };
    let mut stream = client.list_feature(rect).await.unwrap().into_inner();
    let mut n = 0;
    while stream.message().await.unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 100, "the seed's rectangle holds every feature");
}

#[tokio::test]
async fn record_route_counts_features_from_zero() {
    let server = quiet();
    let mut client = pb::route_guide_client::RouteGuideClient::new(server.channel().await);
    let empty = client
        .record_route(tokio_stream::iter(Vec::<pb::Point>::new()))
        .await
        .unwrap();
    assert_eq!(empty.into_inner(), pb::RouteSummary::default());

    // Two database features and one point off the map; the equator degree is 111194.93 m.
    let route = vec![
        point(409146138, -746188906),
        point(0, 0),
        point(10_000_000, 0),
        point(407838351, -746143763),
    ];
    let summary = client
        .record_route(tokio_stream::iter(route.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.point_count, 4);
    assert_eq!(summary.feature_count, 2);
    let metres: f64 = route
        .windows(2)
        .map(|w| rpcsh::serve::demo::route_guide::distance(&w[0], &w[1]))
        .sum();
    assert_eq!(summary.distance, metres as i32);
    assert!(summary.distance > 2 * 4_500_000, "{}", summary.distance);
    assert_eq!(summary.elapsed_time, 0);
}

fn note(message: &str, latitude: i32) -> pb::RouteNote {
    pb::RouteNote {
        location: Some(point(latitude, 0)),
        message: message.into(),
    }
}

#[tokio::test]
async fn route_chat_answers_each_note_with_earlier_notes_at_its_location() {
    let server = quiet();
    let mut client = pb::route_guide_client::RouteGuideClient::new(server.channel().await);
    // Responses interleave with requests: send one note, read what it brought back, go on.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut replies = client
        .route_chat(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    tx.send(note("a", 1)).await.unwrap();
    tx.send(note("b", 2)).await.unwrap();
    tx.send(note("c", 1)).await.unwrap();
    assert_eq!(replies.message().await.unwrap().unwrap().message, "a");
    tx.send(note("d", 1)).await.unwrap();
    let got: Vec<String> = [replies.message().await, replies.message().await]
        .into_iter()
        .map(|r| r.unwrap().unwrap().message)
        .collect();
    assert_eq!(got, ["a", "c"]);
    drop(tx);
    assert!(replies.message().await.unwrap().is_none());
}

#[tokio::test]
async fn route_chat_remembers_at_most_1000_notes() {
    let server = quiet();
    let mut client = pb::route_guide_client::RouteGuideClient::new(server.channel().await);
    let notes: Vec<_> = (0..1002).map(|i| note(&i.to_string(), 7)).collect();
    let mut replies = client
        .route_chat(tokio_stream::iter(notes))
        .await
        .unwrap()
        .into_inner();
    let mut last_batch = Vec::new();
    let mut total = 0usize;
    while let Some(r) = replies.message().await.unwrap() {
        total += 1;
        last_batch.push(r.message);
        if last_batch.len() > 1000 {
            last_batch.remove(0);
        }
    }
    // Note i (i < 1000) brings back i notes; notes 1000 and 1001 bring back 1000 each.
    assert_eq!(total, (0..1000).sum::<usize>() + 2000);
    assert_eq!(
        last_batch.first().map(String::as_str),
        Some("1"),
        "note 0 was forgotten"
    );
    assert_eq!(last_batch.last().map(String::as_str), Some("1000"));
}

#[tokio::test]
async fn db_flag_loads_another_database_and_rejects_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.json");
    std::fs::write(
        &db,
        r#"[{"location": {"latitude": 5, "longitude": 6}, "name": "Five Six"}]"#,
    )
    .unwrap();
    let server = Server::start(&["--listen", "127.0.0.1:0", "--db", db.to_str().unwrap()]);
    let mut client = pb::route_guide_client::RouteGuideClient::new(server.channel().await);
    assert_eq!(
        client
            .get_feature(point(5, 6))
            .await
            .unwrap()
            .into_inner()
            .name,
        "Five Six"
    );
    let berkshire = client
        .get_feature(point(409146138, -746188906))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        berkshire.name, "",
        "the embedded database is not loaded beside --db"
    );

    std::fs::write(&db, "[{\"location\": {}, \"name\": \"x\"}").unwrap();
    let out = binary()
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "a server with a bad database must not start"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("rpcsh: error: invalid feature database"),
        "{stderr}"
    );
    assert!(stderr.contains("line 1 column"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn contact_pushes_tasks_to_every_subscriber() {
    let server = quiet();
    let channel = server.channel().await;
    let mut client = pb::contact_client::ContactClient::new(channel);
    let mut first = client.get_task(pb::Empty {}).await.unwrap().into_inner();
    let mut second = client.get_task(pb::Empty {}).await.unwrap().into_inner();
    server.wait_for_log_count("subscriber joined", 2).await;

    let msgs = vec![
        pb::ClientMsg {
            msg: "hello".into(),
        },
        pb::ClientMsg {
            msg: "push 任务:42".into(),
        },
    ];
    let mut replies = client
        .send_status(tokio_stream::iter(msgs))
        .await
        .unwrap()
        .into_inner();
    let mut rets = Vec::new();
    while let Some(r) = replies.message().await.unwrap() {
        rets.push(r.ret);
    }
    assert_eq!(
        rets,
        ["服务端接收到消息:hello", "服务端接收到消息:push 任务:42"]
    );
    for sub in [&mut first, &mut second] {
        assert_eq!(sub.message().await.unwrap().unwrap().task, "任务:42");
    }

    let acks = vec![
        pb::Result {
            ret: "ack 42".into(),
        },
        pb::Result {
            ret: "ack 43".into(),
        },
    ];
    client.tell_result(tokio_stream::iter(acks)).await.unwrap();
    let log = server.wait_for_log("ack 43").await;
    assert!(log.contains("ack 42"));
}

#[tokio::test]
async fn contact_generator_pushes_batches_of_seed_tasks() {
    let server = Server::start(&["--listen", "127.0.0.1:0", "--task-interval", "50ms"]);
    let mut client = pb::contact_client::ContactClient::new(server.channel().await);
    let mut tasks = client.get_task(pb::Empty {}).await.unwrap().into_inner();
    for _ in 0..20 {
        let task = tasks.message().await.unwrap().unwrap().task;
        let n: u32 = task
            .strip_prefix("任务:")
            .unwrap_or_else(|| panic!("{task}"))
            .parse()
            .unwrap();
        assert!((100..=200).contains(&n), "{task}");
    }
}

#[tokio::test]
async fn contact_slow_subscriber_skips_and_others_get_everything() {
    let server = quiet();
    let mut client = pb::contact_client::ContactClient::new(server.channel().await);
    // Subscribed, never read, on a connection of its own with a 64 KiB window (a stalled stream
    // holds its connection's HTTP/2 window too): once the window is full it must skip, not queue.
    let small_window = Channel::from_shared(server.url())
        .unwrap()
        .initial_stream_window_size(65_535)
        .initial_connection_window_size(65_535)
        .connect()
        .await
        .unwrap();
    let mut slow = pb::contact_client::ContactClient::new(small_window);
    let mut stalled = slow.get_task(pb::Empty {}).await.unwrap().into_inner();
    let mut reader = client.get_task(pb::Empty {}).await.unwrap().into_inner();
    server.wait_for_log_count("subscriber joined", 2).await;

    // The pusher waits for the reader after each batch: a reader that keeps up gets every task,
    // while the stalled one falls more than the backlog behind.
    const TASKS: usize = 5000;
    const BATCH: usize = 250;
    let (progress_tx, mut progress) = tokio::sync::watch::channel(0usize);
    let reading = tokio::spawn(async move {
        let mut got = Vec::with_capacity(TASKS);
        while got.len() < TASKS {
            got.push(reader.message().await.unwrap().unwrap().task);
            progress_tx.send_replace(got.len());
        }
        got
    });
    let (push_tx, push_rx) = tokio::sync::mpsc::channel(BATCH);
    let mut replies = client
        .send_status(tokio_stream::wrappers::ReceiverStream::new(push_rx))
        .await
        .unwrap()
        .into_inner();
    let draining = tokio::spawn(async move { while replies.message().await.unwrap().is_some() {} });
    let big = "x".repeat(200);
    let pushing = async {
        for batch in 0..TASKS / BATCH {
            for i in batch * BATCH..(batch + 1) * BATCH {
                push_tx
                    .send(pb::ClientMsg {
                        msg: format!("push {i} {big}"),
                    })
                    .await
                    .unwrap();
            }
            progress
                .wait_for(|&n| n >= (batch + 1) * BATCH)
                .await
                .unwrap();
        }
        drop(push_tx);
    };
    tokio::time::timeout(Duration::from_secs(120), pushing)
        .await
        .expect("the reader fell behind");
    let got = reading.await.unwrap();
    draining.await.unwrap();
    assert_eq!(got.len(), TASKS);
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, t)| t.starts_with(&format!("{i} "))),
        "in order, none lost"
    );

    // The stalled subscriber, read at last: what its window held, then a gap, then the newest
    // tasks the ring kept — and the server says how many it skipped.
    let mut seen = Vec::new();
    let reading = async {
        while seen.last() != Some(&(TASKS - 1)) {
            let task = stalled.message().await.unwrap().unwrap().task;
            seen.push(task.split(' ').next().unwrap().parse::<usize>().unwrap());
        }
    };
    tokio::time::timeout(Duration::from_secs(60), reading)
        .await
        .expect("the stalled subscriber gets the newest tasks");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in order");
    assert!(
        seen.len() < TASKS,
        "a stalled subscriber skips instead of queueing all {TASKS}"
    );
    let gap = seen
        .windows(2)
        .find(|w| w[1] != w[0] + 1)
        .expect("a gap where tasks were skipped");
    assert!(
        TASKS - gap[1] <= rpcsh::serve::demo::contact::TASK_BACKLOG,
        "{gap:?}"
    );
    let log = server.wait_for_log("slow subscriber skipped tasks").await;
    assert!(
        log.contains(&format!("skipped={}", gap[1] - gap[0] - 1)),
        "{log}"
    );
}

#[tokio::test]
async fn contact_drops_a_disconnected_subscriber() {
    let server = quiet();
    let mut client = pb::contact_client::ContactClient::new(server.channel().await);
    let tasks = client.get_task(pb::Empty {}).await.unwrap().into_inner();
    server.wait_for_log("subscriber joined").await;
    assert!(!server.log().contains("subscriber left"));
    drop(tasks);
    server.wait_for_log("subscriber left").await;
}

#[tokio::test]
async fn shutdown_ends_subscriber_streams_cleanly() {
    let mut server = Server::start(&[
        "--listen",
        "127.0.0.1:0",
        "--task-interval",
        "0",
        "--grace",
        "60s",
    ]);
    let mut client = pb::contact_client::ContactClient::new(server.channel().await);
    let mut tasks = client.get_task(pb::Empty {}).await.unwrap().into_inner();
    let status = tokio::task::spawn_blocking(move || {
        let status = server.terminate();
        (server, status)
    });
    // The subscription ends with an OK status, not a reset: shutdown closed it on purpose.
    assert!(tasks.message().await.unwrap().is_none());
    let (_server, status) = status.await.unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn grace_period_bounds_calls_that_never_finish() {
    let mut server = Server::start(&["--listen", "127.0.0.1:0", "--grace", "200ms"]);
    let mut client = pb::route_guide_client::RouteGuideClient::new(server.channel().await);
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::RouteNote>(1);
    let _chat = client
        .route_chat(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap();
    let status = tokio::task::spawn_blocking(move || {
        let status = server.terminate();
        (server, status)
    });
    let (server, status) = status.await.unwrap();
    assert!(status.success());
    assert!(
        server.log().contains("grace period over"),
        "{}",
        server.log()
    );
    drop(tx);
}

#[tokio::test]
async fn verbose_logs_each_call_with_status_and_duration() {
    let server = quiet();
    let channel = server.channel().await;
    let mut cal = pb::cal_client::CalClient::new(channel.clone());
    cal.add(pb::AddRequest {
        number1: 1,
        number2: 2,
    })
    .await
    .unwrap();
    cal.add(pb::AddRequest {
        number1: i32::MAX,
        number2: 2,
    })
    .await
    .unwrap_err();
    let mut guide = pb::route_guide_client::RouteGuideClient::new(channel);
    let rect = pb::Rectangle {
        lo: Some(point(0, 0)),
        hi: Some(point(1, 1)),
    };
    let mut s = guide.list_feature(rect).await.unwrap().into_inner();
    while s.message().await.unwrap().is_some() {}

    let log = server.wait_for_log("/RouteGuide/ListFeature").await;
    let line = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle) && l.contains("status="))
            .map(str::to_owned)
    };
    let ok = line("/Cal/Add}").unwrap();
    assert!(ok.contains("status=Ok") && ok.contains("duration="), "{ok}");
    let failed = log.lines().find(|l| l.contains("OutOfRange")).unwrap();
    assert!(
        failed.contains("/Cal/Add") && failed.contains("2147483647 + 2 does not fit"),
        "{failed}"
    );
    assert!(line("/RouteGuide/ListFeature")
        .unwrap()
        .contains("status=Ok"));
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_exactly_the_hosted_services() {
    use tonic_reflection::pb::{v1, v1alpha};
    let server = Server::start(&[
        "greeter",
        "RouteGuide",
        "compute.Compute",
        "--listen",
        "127.0.0.1:0",
    ]);
    let channel = server.channel().await;
    let expected = [
        "Greeter",
        "RouteGuide",
        "compute.Compute",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ];

    let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let req = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut resp = client
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        resp.message().await.unwrap().unwrap().message_response
    else {
        panic!("v1: expected a service list")
    };
    let mut names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert_eq!(names, expected);

    let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let req = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "compute.Compute".into(),
            ),
        ),
    };
    let mut resp = client
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(files)) =
        resp.message().await.unwrap().unwrap().message_response
    else {
        panic!("v1alpha: expected a file descriptor")
    };
    use prost::Message;
    let file = prost_types::FileDescriptorProto::decode(files.file_descriptor_proto[0].as_slice())
        .unwrap();
    assert_eq!(file.name(), "compute.proto");
    assert_eq!(file.package(), "compute");
}

#[tokio::test]
async fn health_reports_each_hosted_service() {
    use tonic_health::pb::{
        health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
    };
    let server = Server::start(&["cal", "contact", "--listen", "127.0.0.1:0"]);
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "Cal", "Contact"] {
        let reply = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap();
        assert_eq!(
            reply.into_inner().status(),
            ServingStatus::Serving,
            "{service:?}"
        );
    }
    let err = health
        .check(HealthCheckRequest {
            service: "Greeter".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn tls_with_a_generated_certificate() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let server = Server::start(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert_path.to_str().unwrap(),
        "--tls-key",
        key_path.to_str().unwrap(),
    ]);
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(cert.cert.pem()))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://{}", server.addr))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .expect("TLS handshake with the served certificate");
    let mut greeter = pb::greeter_client::GreeterClient::new(channel);
    let reply = greeter
        .say_hello(pb::HelloRequest { name: "tls".into() })
        .await
        .unwrap();
    assert_eq!(reply.into_inner().message, "hello tls");

    // A plaintext client gets no answer from a TLS server.
    let plain = Channel::from_shared(server.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let err = pb::greeter_client::GreeterClient::new(plain)
        .say_hello(pb::HelloRequest { name: "x".into() })
        .await
        .unwrap_err();
    assert_ne!(err.code(), tonic::Code::Ok);
}

#[test]
fn bad_tls_files_and_busy_ports_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let out = binary()
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&junk)
        .arg("--tls-key")
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("rpcsh: error: TLS certificate"),
        "{stderr}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = binary()
        .args(["serve", "--listen", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("rpcsh: error: cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: another program listens on that port"),
        "{stderr}"
    );

    let out = binary().args(["serve", "nosuch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("unknown demo service \"nosuch\"") && stderr.contains("compute.Compute"),
        "{stderr}"
    );

    let out = binary()
        .args(["serve", "--task-interval", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");

    let out = binary().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("Usage: rpcsh"));
}

/// The examples are built by `cargo test`; they live beside the test binary's folder.
fn example(name: &str) -> std::path::PathBuf {
    let deps = std::env::current_exe().unwrap();
    deps.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

fn run_example(name: &str, args: &[&str]) -> String {
    let out = Command::new(example(name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{name}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
async fn examples_print_what_the_seed_clients_print() {
    let server = quiet();
    let addr = server.addr.as_str();
    assert_eq!(
        run_example("greeter_client", &[addr]),
        "Greeter client received: hello czl\nGreeter client received: hello daydaygo\n"
    );
    assert_eq!(
        run_example("compute_client", &[addr, "你好"]),
        "received: 2\n"
    );
    assert_eq!(
        run_example("cal_client", &[addr]),
        "100 + 300 = 400\n100 * 300 = 30000\n"
    );
    let overflow = run_example("cal_client", &[addr, "65536", "65536"]);
    assert!(overflow.ends_with("65536 * 65536: OutOfRange: 65536 * 65536 does not fit in int32 (range -2147483648 to 2147483647)\n"), "{overflow}");

    let route = run_example("route_guide_client", &[addr]);
    assert!(route.starts_with(
        "-------------- GetFeature --------------\n\
         Feature called Berkshire Valley Management Area Trail, Jefferson, NJ, USA at latitude: 409146138\nlongitude: -746188906\n\n\
         Found no feature at \n"
    ), "{route}");
    assert_eq!(route.matches("random feature").count(), 20);
    assert!(
        route.contains("point count: 20 feature count: 20 distance: "),
        "{route}"
    );
    assert!(
        route.ends_with("recived message msg 1 location \n"),
        "{route}"
    );

    let contact = run_example("contact_client", &[addr, "2"]);
    assert!(
        contact.contains("客户端已接收到服务端任务：任务:客户端"),
        "{contact}"
    );
    assert!(
        contact.ends_with("tellResult: acknowledged 2 tasks\n"),
        "{contact}"
    );
    server.wait_for_log("客户端接收到任务:任务:客户端").await;
}

#[tokio::test]
async fn server_limits_message_size_streams_and_call_time() {
    use pb::testing::{testing_client::TestingClient, EchoRequest, GenerateRequest};
    let server = Server::start(&[
        "--listen",
        "127.0.0.1:0",
        "--task-interval",
        "0",
        "--max-msg-size",
        "1kB", // a size with a unit, as the client takes it
        "--max-concurrent-streams",
        "2",
        "--call-timeout",
        "1s",
    ]);
    let channel = server.channel().await;
    let mut testing = TestingClient::new(channel.clone());
    let echo = |payload: usize, delay: Option<u64>| EchoRequest {
        payload: vec![7; payload],
        delay: delay.map(|ms| prost_types::Duration {
            seconds: 0,
            nanos: (ms * 1_000_000) as i32,
        }),
        ..Default::default()
    };
    // Over the message limit: refused; under it: answered.
    let big = testing.echo(echo(2000, None)).await.unwrap_err();
    assert_eq!(big.code(), tonic::Code::OutOfRange, "{big:?}");
    assert_eq!(
        testing
            .echo(echo(500, None))
            .await
            .unwrap()
            .into_inner()
            .payload
            .len(),
        500
    );
    // Past the call timeout: cancelled by the server.
    let slow = testing.echo(echo(0, Some(900))).await;
    assert!(slow.is_ok(), "under the timeout: {slow:?}");
    let mut slower = echo(0, None);
    slower.delay = Some(prost_types::Duration {
        seconds: 3,
        nanos: 0,
    });
    let late = testing.echo(slower).await.unwrap_err();
    assert_eq!(late.code(), tonic::Code::Cancelled, "{late:?}");
    // Two streams open on this connection: a third call waits for a slot.
    let endless = || GenerateRequest {
        count: 1_000_000,
        size: 0,
        interval: Some(prost_types::Duration {
            seconds: 0,
            nanos: 100_000_000,
        }),
    };
    let mut a = testing.generate(endless()).await.unwrap().into_inner();
    let mut b = testing.generate(endless()).await.unwrap().into_inner();
    assert!(a.message().await.unwrap().is_some() && b.message().await.unwrap().is_some());
    let mut third = tonic::Request::new(echo(1, None));
    third.set_timeout(Duration::from_millis(500));
    let waited = testing.echo(third).await.unwrap_err();
    // tonic's client reports its own expiry as CANCELLED ("Timeout expired").
    assert!(
        matches!(
            waited.code(),
            tonic::Code::Cancelled | tonic::Code::DeadlineExceeded
        ),
        "{waited:?}"
    );
    drop((a, b));
    let mut freed = TestingClient::new(channel);
    assert_eq!(
        freed
            .echo(echo(3, None))
            .await
            .unwrap()
            .into_inner()
            .payload
            .len(),
        3
    );
}

#[tokio::test]
async fn garbage_and_http1_get_an_error_and_the_server_goes_on() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = quiet();
    for bytes in [
        &b"\x00\xff garbage that is not an HTTP/2 preface \x13\x37"[..],
        // HTTP/1.1 is served (for gRPC-Web): these get an answer, then the connection closes.
        &b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"[..],
        &b"POST /Greeter/SayHello HTTP/1.1\r\nContent-Type: application/grpc\r\nContent-Length: 5\r\nConnection: close\r\n\r\n\x00\x00\x00\x00\x00"[..],
    ] {
        let mut socket = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
        socket.write_all(bytes).await.unwrap();
        let mut answer = Vec::new();
        // The server answers (a GOAWAY or an HTTP/1.1 error) and closes; never hangs.
        tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer))
            .await
            .expect("the server closes the connection")
            .ok();
    }
    let mut greeter = pb::greeter_client::GreeterClient::new(server.channel().await);
    let reply = greeter
        .say_hello(pb::HelloRequest {
            name: "still".into(),
        })
        .await
        .unwrap();
    assert_eq!(reply.into_inner().message, "hello still");
    assert!(!server.log().contains("panicked"), "{}", server.log());
}
