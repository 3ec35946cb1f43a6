// A @connectrpc/connect-node server of grpc.testing.TestService (the gRPC interop test service),
// answering the Connect, gRPC-Web and gRPC protocols, on HTTP/1.1 and on h2c (two ports: Node's
// plaintext HTTP/2 server cannot share one with HTTP/1.1). The schema comes at run time from a
// descriptor set, with no generated code.
//
// Usage: node connect_server.js DESCRIPTORS.pb [--tls CERT KEY]
// With --tls: HTTPS on HTTP/1.1 only (no ALPN), and HTTPS where ALPN picks h2 or HTTP/1.1.
// Prints "listening on HTTP1_ADDR H2C_ADDR" once both listen, then "call METHOD" for each call
// a handler takes (what reached the service, for tests of what a client does not send).
//
// As the interop test descriptions say: `response_status` makes a call fail with that code and
// message (here with the EchoStatus as an error detail too), `x-grpc-test-echo-initial` comes back
// as a response header and `x-grpc-test-echo-trailing-bin` as a trailer. StreamingOutputCall also
// takes `response_status`, sent after the messages.
const fs = require("fs");
const http = require("http");
const http2 = require("http2");
const https = require("https");
const { fromBinary, createFileRegistry } = require("@bufbuild/protobuf");
const { FileDescriptorSetSchema } = require("@bufbuild/protobuf/wkt");
const { ConnectError } = require("@connectrpc/connect");
const { connectNodeAdapter } = require("@connectrpc/connect-node");

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, fs.readFileSync(process.argv[2])));
const service = registry.getService("grpc.testing.TestService");
const echoStatus = registry.getMessage("grpc.testing.EchoStatus");

function echoMetadata(ctx) {
  console.log(`call ${ctx.method.name}`);
  const initial = ctx.requestHeader.get("x-grpc-test-echo-initial");
  if (initial !== null) ctx.responseHeader.set("x-grpc-test-echo-initial", initial);
  const trailing = ctx.requestHeader.get("x-grpc-test-echo-trailing-bin");
  if (trailing !== null) ctx.responseTrailer.set("x-grpc-test-echo-trailing-bin", trailing);
}

// A detail of a type the schema has but UnaryCall does not use, when the message asks for it.
const inputResponse = registry.getMessage("grpc.testing.StreamingInputCallResponse");

function failIfAsked(status) {
  if (status && status.code !== 0) {
    const details = [{ desc: echoStatus, value: status }];
    if (status.message.includes("[unused detail]")) {
      details.push({ desc: inputResponse, value: { aggregatedPayloadSize: 77 } });
    }
    throw new ConnectError(status.message, status.code, undefined, details);
  }
}

const payload = (size) => ({ payload: { body: new Uint8Array(size) } });
const sleep = (us) => new Promise((resolve) => setTimeout(resolve, us / 1000));

async function* answer(request) {
  for (const p of request.responseParameters) {
    if (p.intervalUs > 0) await sleep(p.intervalUs);
    yield payload(p.size);
  }
  failIfAsked(request.responseStatus);
}

const impl = {
  async emptyCall(_request, ctx) {
    echoMetadata(ctx);
    return {};
  },
  async unaryCall(request, ctx) {
    echoMetadata(ctx);
    failIfAsked(request.responseStatus);
    return payload(request.responseSize);
  },
  async *streamingOutputCall(request, ctx) {
    echoMetadata(ctx);
    yield* answer(request);
  },
  async streamingInputCall(requests, ctx) {
    echoMetadata(ctx);
    let size = 0;
    for await (const r of requests) size += r.payload ? r.payload.body.length : 0;
    return { aggregatedPayloadSize: size };
  },
  async *fullDuplexCall(requests, ctx) {
    echoMetadata(ctx);
    for await (const r of requests) yield* answer(r);
  },
  async *halfDuplexCall(requests, ctx) {
    echoMetadata(ctx);
    const all = [];
    for await (const r of requests) all.push(r);
    for (const r of all) yield* answer(r);
  },
};

const handler = connectNodeAdapter({ routes: (router) => router.service(service, impl) });
const listen = (server) =>
  new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`127.0.0.1:${server.address().port}`)));

const tls = process.argv[3] === "--tls" && { cert: fs.readFileSync(process.argv[4]), key: fs.readFileSync(process.argv[5]) };
const servers = tls
  ? [https.createServer(tls, handler), http2.createSecureServer({ ...tls, allowHTTP1: true }, handler)]
  : [http.createServer(handler), http2.createServer(handler)];
Promise.all(servers.map(listen)).then(([h1, h2c]) => {
  console.log(`listening on ${h1} ${h2c}`);
});
