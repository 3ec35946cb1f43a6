// A @connectrpc/connect-node gRPC-Web client calling `rpcsh serve` in every call style, over
// HTTP/1.1 (unary and server streaming: what gRPC-Web can do there) and HTTP/2 (all four).
// The schema comes from a descriptor set of rpcsh's protos, with no generated code.
//
// Usage: node connect_web_client.js ADDR DESCRIPTORS.pb
// Prints one JSON object: {"1.1": {...}, "2": {...}}, what each call returned or failed with.
const fs = require("fs");
const { fromBinary, createFileRegistry } = require("@bufbuild/protobuf");
const { FileDescriptorSetSchema } = require("@bufbuild/protobuf/wkt");
const { createClient, ConnectError } = require("@connectrpc/connect");
const { createGrpcWebTransport } = require("@connectrpc/connect-node");

const [addr, descriptors] = process.argv.slice(2);
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, fs.readFileSync(descriptors)));

const points = [
  { latitude: 409146138, longitude: -746188906 },
  { latitude: 410248224, longitude: -747127767 },
];

async function* each(items) {
  for (const item of items) yield item;
}

async function calls(httpVersion) {
  const transport = createGrpcWebTransport({ baseUrl: `http://${addr}`, httpVersion });
  const greeter = createClient(registry.getService("Greeter"), transport);
  const guide = createClient(registry.getService("RouteGuide"), transport);
  const testing = createClient(registry.getService("rpcsh.testing.v1.Testing"), transport);
  const got = {};
  got.hello = (await greeter.sayHello({ name: "connect-web" })).message;
  const features = [];
  for await (const f of guide.listFeature({
    lo: { latitude: 400000000, longitude: -750000000 },
    hi: { latitude: 420000000, longitude: -730000000 },
  })) {
    features.push(f.name);
  }
  got.features = features.length;
  try {
    await testing.echo({ code: 5, message: "no such thing" });
    got.failing = "no error";
  } catch (e) {
    const err = ConnectError.from(e);
    got.failing = { code: err.code, message: err.rawMessage };
  }
  if (httpVersion === "2") {
    const summary = await guide.recordRoute(each(points));
    got.recorded = summary.pointCount;
    const notes = [];
    for await (const n of guide.routeChat(
      each([
        { location: points[0], message: "first" },
        { location: points[0], message: "second" },
      ]),
    )) {
      notes.push(n.message);
    }
    got.chat = notes;
  }
  return got;
}

(async () => {
  const out = {};
  for (const version of ["1.1", "2"]) out[version] = await calls(version);
  console.log(JSON.stringify(out));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
