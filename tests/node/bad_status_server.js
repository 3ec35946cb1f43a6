// A broken gRPC server of Node's own http2 module: every call ends NOT_FOUND with a
// grpc-status-details-bin that is not base64, which tonic's Status::from_header_map panics on.
// Usage: node bad_status_server.js   (prints "listening on ADDR")
const http2 = require("http2");
const server = http2.createServer();
server.on("stream", (stream) => {
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.on("wantTrailers", () =>
    stream.sendTrailers({ "grpc-status": "5", "grpc-message": "gone", "grpc-status-details-bin": "!!!not base64!!!" }),
  );
  stream.end();
});
server.listen(0, "127.0.0.1", () => console.log(`listening on 127.0.0.1:${server.address().port}`));
