// The grpc-java peer of the interop tests (Debian's libgrpc-java 1.41 on Netty): tests/cpp/lab.proto's
// Lab service in all four call styles, without reflection (as many Java servers run). Fail sends
// custom trailers; Count honours deadlines by stopping when the call is cancelled. Listens on
// 127.0.0.1 and a free port, and prints `listening on 127.0.0.1:PORT` once it serves.
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import lab.cpp.LabGrpc;
import lab.cpp.LabOuterClass.CountRequest;
import lab.cpp.LabOuterClass.FailRequest;
import lab.cpp.LabOuterClass.Note;

public class LabServer {
  static class Lab extends LabGrpc.LabImplBase {
    @Override
    public void echo(Note request, StreamObserver<Note> out) {
      out.onNext(request);
      out.onCompleted();
    }

    @Override
    public void count(CountRequest request, StreamObserver<Note> out) {
      ServerCallStreamObserver<Note> call = (ServerCallStreamObserver<Note>) out;
      for (int i = 1; i <= request.getCount(); i++) {
        if (call.isCancelled()) {
          return;
        }
        out.onNext(Note.newBuilder().setSeq(i).setText("note " + i).build());
        try {
          Thread.sleep(request.getIntervalMs());
        } catch (InterruptedException e) {
          return;
        }
      }
      out.onCompleted();
    }

    @Override
    public void fail(FailRequest request, StreamObserver<Note> out) {
      Metadata trailers = new Metadata();
      trailers.put(Metadata.Key.of("x-trailer", Metadata.ASCII_STRING_MARSHALLER), "java");
      out.onError(Status.fromCodeValue(request.getCode())
          .withDescription(request.getMessage())
          .asRuntimeException(trailers));
    }

    @Override
    public StreamObserver<Note> join(StreamObserver<Note> out) {
      return new StreamObserver<Note>() {
        final StringBuilder joined = new StringBuilder();
        int count = 0;

        public void onNext(Note note) {
          joined.append(note.getText());
          count++;
        }

        public void onError(Throwable t) {}

        public void onCompleted() {
          out.onNext(Note.newBuilder().setText(joined.toString()).setSeq(count).build());
          out.onCompleted();
        }
      };
    }

    @Override
    public StreamObserver<Note> shout(StreamObserver<Note> out) {
      return new StreamObserver<Note>() {
        public void onNext(Note note) {
          out.onNext(note.toBuilder().setText(note.getText().toUpperCase()).build());
        }

        public void onError(Throwable t) {}

        public void onCompleted() {
          out.onCompleted();
        }
      };
    }
  }

  public static void main(String[] args) throws Exception {
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new Lab())
        .build()
        .start();
    System.out.println("listening on 127.0.0.1:" + server.getPort());
    System.out.flush();
    server.awaitTermination();
  }
}
