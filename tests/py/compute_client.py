"""The seed's compute client (section 二), with the address as a parameter."""
import sys

import compute_pb2
import compute_pb2_grpc
import grpc


def main(addr='127.0.0.1:19999', text="123456"):
    with grpc.insecure_channel(addr) as channel:
        client = compute_pb2_grpc.ComputeStub(channel=channel)
        response = client.SayHello(compute_pb2.HelloRequest(helloworld=text))
    print("received: " + response.result)


if __name__ == '__main__':
    main(*sys.argv[1:])
