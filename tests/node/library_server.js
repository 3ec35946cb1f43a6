// A grpc-js server with @grpc/reflection: the "other stack" peer of rpcsh's interop tests.
// Serves acme.library.v2.Library and acme.archive.v1.Library (protos/acme) on 127.0.0.1:0 and
// prints `listening on ADDR`. With --tls CERT KEY (PEM files) it serves TLS. grpc-js's reflection answers with one file per package and lists no
// imports (grpc/grpc-node#3018): rpcsh must find what each file uses by itself.
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { ReflectionService } = require('@grpc/reflection');

const protos = path.join(__dirname, 'protos');
const files = ['acme/library/v2/library.proto', 'acme/archive/v1/archive.proto'];
const definition = protoLoader.loadSync(files, {
  includeDirs: [protos],
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
});
const loaded = grpc.loadPackageDefinition(definition);

const books = [
  {
    isbn: '978-0', title: 'Solaris', genre: 'FICTION', pages: '204', tags: ['classic', 'sea'],
    author: { name: 'Stanisław Lem', born: { seconds: '-1514764800', nanos: 0 } },
    stock: { berlin: 3, kraków: 7 }, price: { currency: 'EUR', units: '12', nanos: 500000000 },
    published: { seconds: '-283996800', nanos: 0 }, cover: Buffer.from([0, 1, 2, 255]),
    reviews: [{ by: 'ana', stars: 5 }],
  },
  {
    isbn: '978-1', title: 'Cosmos', genre: 'SCIENCE', pages: '396', tags: [],
    author: { name: 'Carl Sagan' }, free: true,
  },
];

const library = {
  GetBook(call, callback) {
    const book = books.find((b) => b.isbn === call.request.isbn);
    if (!book) {
      callback({ code: grpc.status.NOT_FOUND, details: `no book ${call.request.isbn}` });
      return;
    }
    callback(null, book);
  },
  ListBooks(call) {
    for (const b of books) {
      const wanted = call.request.genre;
      if (!wanted || wanted === 'GENRE_UNSPECIFIED' || wanted === b.genre) call.write(b);
    }
    call.end();
  },
  AddBooks(call, callback) {
    const titles = [];
    call.on('data', (b) => titles.push(b.title));
    call.on('end', () => callback(null, { added: titles.length, titles }));
  },
  Chat(call) {
    call.on('data', (m) => call.write({ text: `echo: ${m.text}` }));
    call.on('end', () => call.end());
  },
  Fail(call, callback) {
    const trailers = new grpc.Metadata();
    trailers.set('x-reason', call.request.reason || 'none');
    trailers.set('x-reason-bin', Buffer.from([0xca, 0xfe]));
    callback({ code: grpc.status.FAILED_PRECONDITION, details: `refused: ${call.request.reason}`, metadata: trailers });
  },
  EchoHeaders(call, callback) {
    const headers = {};
    const initial = new grpc.Metadata();
    for (const [key, value] of Object.entries(call.metadata.getMap())) {
      if (!key.startsWith('x-')) continue;
      headers[key] = Buffer.isBuffer(value) ? value.toString('base64') : value;
      initial.set(key, value);
    }
    call.sendMetadata(initial);
    callback(null, { headers });
  },
};

const archive = {
  Find(call, callback) {
    const book = books.find((b) => b.isbn === call.request.isbn);
    callback(book ? null : { code: grpc.status.NOT_FOUND, details: 'not archived' }, book);
  },
};

const args = process.argv.slice(2);
const tls = args.indexOf('--tls');
const fs = require('fs');
const credentials = tls >= 0
  ? grpc.ServerCredentials.createSsl(null, [{
    cert_chain: fs.readFileSync(args[tls + 1]), private_key: fs.readFileSync(args[tls + 2]),
  }])
  : grpc.ServerCredentials.createInsecure();
const server = new grpc.Server();
server.addService(loaded.acme.library.v2.Library.service, library);
server.addService(loaded.acme.archive.v1.Library.service, archive);
new ReflectionService(definition).addToServer(server);
server.bindAsync('127.0.0.1:0', credentials, (err, port) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
  console.log(`listening on 127.0.0.1:${port}`);
});
