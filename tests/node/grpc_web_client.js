// A gRPC-Web client made of Node's own http and http2 modules (no library between it and the
// wire): calls Greeter/SayHello and a failing Testing/Echo on `rpcsh serve` over HTTP/1.1 and
// HTTP/2 (prior knowledge), and sends a browser's CORS preflight. Prints one JSON object.
//   node grpc_web_client.js HOST:PORT
const http = require('http');
const http2 = require('http2');

const [host, port] = process.argv[2].split(':');

// HelloRequest { name = 1 } and EchoRequest { code = 3 (int32), message = 4 }, by hand.
const string = (field, s) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([(field << 3) | 2, b.length]), b]);
};
const frame = (msg) => {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
};
const calls = {
  hello: { path: '/Greeter/SayHello', body: frame(string(1, 'web')) },
  failing: {
    path: '/rpcsh.testing.v1.Testing/Echo',
    body: frame(Buffer.concat([Buffer.from([3 << 3, 5]), string(4, 'no such thing')])),
  },
};
const headers = {
  'content-type': 'application/grpc-web+proto',
  'x-grpc-web': '1',
  origin: 'http://example.test',
};

// The frames of a gRPC-Web body: data (flag 0) and trailers (flag 0x80).
function parse(status, resHeaders, body) {
  const out = { status, contentType: resHeaders['content-type'], messages: [], trailers: {} };
  for (let i = 0; i + 5 <= body.length;) {
    const flag = body[i];
    const len = body.readUInt32BE(i + 1);
    const payload = body.subarray(i + 5, i + 5 + len);
    if (flag & 0x80) {
      for (const line of payload.toString().split('\r\n').filter(Boolean)) {
        const at = line.indexOf(':');
        out.trailers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
      }
    } else {
      out.messages.push(payload.subarray(2).toString()); // field 1, a short string
    }
    i += 5 + len;
  }
  out.grpcStatus = resHeaders['grpc-status'] || out.trailers['grpc-status'];
  out.grpcMessage = resHeaders['grpc-message'] || out.trailers['grpc-message'];
  out.exposed = resHeaders['access-control-expose-headers'];
  out.allowOrigin = resHeaders['access-control-allow-origin'];
  return out;
}

function h1(call) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method: 'POST', path: call.path, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(parse(res.statusCode, res.headers, Buffer.concat(chunks))));
    });
    req.on('error', reject);
    req.end(call.body);
  });
}

function h2(session, call) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': call.path, ...headers });
    let resHeaders = {};
    const chunks = [];
    req.on('response', (h) => { resHeaders = h; });
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(parse(resHeaders[':status'], resHeaders, Buffer.concat(chunks))));
    req.on('error', reject);
    req.end(call.body);
  });
}

function preflight() {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host, port, method: 'OPTIONS', path: calls.hello.path,
      headers: {
        origin: 'http://example.test',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-grpc-web',
      },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({
        status: res.statusCode,
        allowOrigin: res.headers['access-control-allow-origin'],
        allowHeaders: res.headers['access-control-allow-headers'],
      }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function main() {
  const session = http2.connect(`http://${host}:${port}`);
  const out = {
    h1: { hello: await h1(calls.hello), failing: await h1(calls.failing) },
    h2: { hello: await h2(session, calls.hello), failing: await h2(session, calls.failing) },
    preflight: await preflight(),
  };
  session.close();
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
