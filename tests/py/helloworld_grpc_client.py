"""The seed's helloworld_grpc_client.py, with the server address as a parameter."""
import sys

import grpc
import helloworld_pb2
import helloworld_pb2_grpc


def run(addr="localhost:50051"):
    # 连接 rpc 服务器
    channel = grpc.insecure_channel(addr)
    # 调用 rpc 服务
    stub = helloworld_pb2_grpc.GreeterStub(channel)
    response = stub.SayHello(helloworld_pb2.HelloRequest(name='czl'))
    print("Greeter client received: " + response.message)
    response = stub.SayHelloAgain(helloworld_pb2.HelloRequest(name='daydaygo'))
    print("Greeter client received: " + response.message)


if __name__ == '__main__':
    run(*sys.argv[1:])
