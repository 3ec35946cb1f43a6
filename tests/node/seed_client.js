// A grpc-js client of the seed's five services, in all four call styles, against `rpcsh serve`.
// Usage: node seed_client.js HOST:PORT — prints one JSON object of what each call returned.
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

// One file at a time: loaded together, protobufjs resolves compute.proto's `HelloRequest` to
// helloworld.proto's package-less one (a name lookup that ignores proto scoping), and the
// Compute call sends the wrong message.
const files = ['helloworld.proto', 'routeguide.proto', 'compute.proto', 'SimpleCal.proto', 'contact.proto'];
const pb = {};
for (const file of files) {
  const definition = protoLoader.loadSync(file, {
    includeDirs: [path.join(__dirname, '..', '..', 'proto')],
    defaults: true,
  });
  Object.assign(pb, grpc.loadPackageDefinition(definition));
}
const addr = process.argv[2];
const creds = grpc.credentials.createInsecure();
const client = (Service) => new Service(addr, creds);

const unary = (c, method, request) =>
  new Promise((resolve, reject) => c[method](request, (err, reply) => (err ? reject(err) : resolve(reply))));

const collect = (stream) =>
  new Promise((resolve, reject) => {
    const got = [];
    stream.on('data', (m) => got.push(m));
    stream.on('end', () => resolve(got));
    stream.on('error', reject);
  });

async function main() {
  const out = {};
  const greeter = client(pb.Greeter);
  out.greeter = (await unary(greeter, 'SayHello', { name: 'node' })).message;
  const compute = client(pb.compute.Compute);
  out.compute = (await unary(compute, 'SayHello', { helloworld: 'héllo' })).result;
  const cal = client(pb.Cal);
  out.add = (await unary(cal, 'Add', { number1: 3, number2: 4 })).number;
  out.multiply = (await unary(cal, 'Multiply', { number1: 3, number2: 4 })).number;

  const route = client(pb.RouteGuide);
  out.feature = (await unary(route, 'GetFeature', { latitude: 409146138, longitude: -746188906 })).name;
  const rect = { lo: { latitude: 400000000, longitude: -750000000 }, hi: { latitude: 420000000, longitude: -730000000 } };
  out.listed = (await collect(route.ListFeature(rect))).length;
  out.summary = await new Promise((resolve, reject) => {
    const call = route.RecordRoute((err, summary) => (err ? reject(err) : resolve(summary)));
    for (const p of [[409146138, -746188906], [413628156, -749015468], [1, 1]]) {
      call.write({ latitude: p[0], longitude: p[1] });
    }
    call.end();
  });
  const chat = route.RouteChat();
  const notes = collect(chat);
  for (const m of ['a', 'b', 'c']) chat.write({ location: { latitude: 1, longitude: 1 }, message: m });
  chat.end();
  out.chat = (await notes).map((n) => n.message);

  const contact = client(pb.Contact);
  const tasks = contact.getTask({});
  const firstTask = new Promise((resolve, reject) => {
    tasks.on('data', (t) => resolve(t.task));
    tasks.on('error', (e) => (e.code === grpc.status.CANCELLED ? null : reject(e)));
  });
  await new Promise((resolve) => setTimeout(resolve, 200)); // subscribed before the push
  const status = contact.sendStatus();
  const results = collect(status);
  status.write({ msg: 'push from node' });
  status.end();
  out.status = (await results).map((r) => r.ret);
  out.task = await firstTask;
  tasks.cancel();
  out.told = await new Promise((resolve, reject) => {
    const call = contact.tellResult((err, reply) => (err ? reject(err) : resolve(reply)));
    call.write({ ret: 'done' });
    call.end();
  });
  console.log(JSON.stringify(out));
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
