"""The seed's contact_client.py (section 四): getTask as a server-push channel, tellResult to
acknowledge, sendStatus on a thread. The seed loops forever; here `run` stops after `tasks` tasks
so a test can check them. The seed read `ret.result`, a field Result does not have; it is `ret`.
Each sendStatus round also sends `push TEXT`, which our server turns into a task for every
getTask subscriber."""
import random
import sys
import threading
import time

import contact_pb2
import contact_pb2_grpc
import grpc

printed = []


def say(text):
    printed.append(text)
    print(text)


# 先制造一些客户端能发送的数据
def make_some_data(push=None):
    for i in range(15):
        num = random.randint(1, 20)
        yield contact_pb2.ClientMsg(msg=f"数据:{num}")
    if push is not None:
        yield contact_pb2.ClientMsg(msg=f"push {push}")


def send_status(stub, stop, every=0.2, push="来自客户端的任务"):
    try:
        while not stop.is_set():
            status_response = stub.sendStatus(make_some_data(push))
            for ret in status_response:
                say(ret.ret)
            stop.wait(every)
    except Exception as e:
        say(f'err in send_status:{e}')


# 接收服务端发送过来的任务
def get_task(stub, received, limit):
    call = stub.getTask(contact_pb2.Empty())
    try:
        for task in call:
            say(f"客户端已接收到服务端任务：{task.task}")
            received.append(task.task)
            # 顺便再告诉服务端我已经接收到你发的任务，你不用担心我没接收到它
            yield contact_pb2.Result(ret=f"客户端接收到任务:{task.task}")
            if len(received) >= limit:
                break
    finally:
        call.cancel()


# 客户端再通知服务端我接收到你的消息了
def tell_result(stub, received, limit):
    return stub.tellResult(get_task(stub, received, limit))


def run(addr='localhost:50051', tasks=3, push="来自客户端的任务"):
    """Receives `tasks` tasks through getTask while sendStatus pushes; returns them."""
    received = []
    stop = threading.Event()
    with grpc.insecure_channel(addr) as channel:
        stub = contact_pb2_grpc.ContactStub(channel)
        sender = threading.Thread(target=send_status, args=(stub, stop, 0.2, push), daemon=True)
        sender.start()
        try:
            reply = tell_result(stub, received, int(tasks))
            assert isinstance(reply, contact_pb2.Empty)
        finally:
            stop.set()
            sender.join(timeout=5)
    return received


if __name__ == '__main__':
    run(*sys.argv[1:])
