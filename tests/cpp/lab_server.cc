// The C++ gRPC peer of the interop tests (Debian's libgrpc++, 1.51): tests/cpp/lab.proto's Lab
// service with reflection (v1alpha, as C++ ships it) and the default health service. Listens on
// `--listen ADDR` (127.0.0.1:0 by default, or unix:PATH), in TLS with `--cert FILE --key FILE`,
// and prints `listening on ADDR` once it serves.
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "lab.grpc.pb.h"

using grpc::ServerContext;
using grpc::Status;

class LabImpl final : public lab::cpp::Lab::Service {
  Status Echo(ServerContext* ctx, const lab::cpp::Note* req, lab::cpp::Note* reply) override {
    auto ping = ctx->client_metadata().find("x-ping");
    if (ping != ctx->client_metadata().end()) {
      ctx->AddInitialMetadata("x-echo", std::string(ping->second.data(), ping->second.size()));
    }
    auto agent = ctx->client_metadata().find("user-agent");
    if (agent != ctx->client_metadata().end()) {
      ctx->AddInitialMetadata("x-user-agent",
                              std::string(agent->second.data(), agent->second.size()));
    }
    ctx->AddTrailingMetadata("x-trailer", "done");
    reply->set_text(req->text());
    reply->set_point_count(req->point_count());
    return Status::OK;
  }

  Status Count(ServerContext* ctx, const lab::cpp::CountRequest* req,
               grpc::ServerWriter<lab::cpp::Note>* writer) override {
    for (int i = 1; i <= req->count() && !ctx->IsCancelled(); i++) {
      lab::cpp::Note note;
      note.set_seq(i);
      note.set_text("note " + std::to_string(i));
      writer->Write(note);
      if (req->interval_ms() > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(req->interval_ms()));
      }
    }
    return Status::OK;
  }

  Status Fail(ServerContext*, const lab::cpp::FailRequest* req, lab::cpp::Note*) override {
    return Status(static_cast<grpc::StatusCode>(req->code()), req->message());
  }

  Status Detailed(ServerContext*, const lab::cpp::FailRequest* req, lab::cpp::Note*) override {
    lab::cpp::FailDetail detail;
    detail.set_reason("quota");
    detail.set_retry_after_s(30);
    lab::cpp::RpcStatus status;
    status.set_code(req->code());
    status.set_message(req->message());
    status.add_details()->PackFrom(detail);
    return Status(static_cast<grpc::StatusCode>(req->code()), req->message(),
                  status.SerializeAsString());
  }

  Status Garbled(ServerContext*, const lab::cpp::Note*, lab::cpp::Note* reply) override {
    reply->set_text(std::string("caf\xc3 \xff\xfe ok"));
    reply->set_seq(7);
    return Status::OK;
  }
};

static std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0", cert, key;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--listen") listen = argv[i + 1];
    if (flag == "--cert") cert = argv[i + 1];
    if (flag == "--key") key = argv[i + 1];
  }
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!cert.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({slurp(key), slurp(cert)});
    creds = grpc::SslServerCredentials(ssl);
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  LabImpl lab;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, creds, &port);
  builder.RegisterService(&lab);
  auto server = builder.BuildAndStart();
  if (!server) {
    std::cerr << "cannot listen on " << listen << std::endl;
    return 1;
  }
  server->GetHealthCheckService()->SetServingStatus("lab.cpp.Lab", true);
  if (listen.rfind("unix:", 0) == 0) {
    std::cout << "listening on " << listen << std::endl;
  } else {
    std::cout << "listening on 127.0.0.1:" << port << std::endl;
  }
  server->Wait();
  return 0;
}
