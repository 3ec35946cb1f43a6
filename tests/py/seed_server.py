"""The seed's Python grpcio servers, as the blog runs them (a ThreadPoolExecutor of 10 workers),
hosted together on one port: Greeter, RouteGuide, compute.Compute and Cal. The peer our
benchmark compares `rpcsh serve` against. Contact only with --contact-sleep: the seed's getTask
never returns and holds a worker thread for ever; it is the seed's code, with its `time.sleep(40)`
between batches made that option. Like the seed, no reflection. Prints `listening on HOST:PORT`
when ready, as rpcsh does.

    python seed_server.py [--listen 127.0.0.1:0] [--stubs DIR] [--db FILE] [--contact-sleep S]
"""
import argparse
import math
import pathlib
import sys
import time
from concurrent import futures

import grpc


def get_distance(start, end):
    """Distance between two points, the seed's formula."""
    coord_factor = 10000000.0
    lat_1, lat_2 = start.latitude / coord_factor, end.latitude / coord_factor
    lon_1, lon_2 = start.longitude / coord_factor, end.longitude / coord_factor
    lat_rad_1, lat_rad_2 = math.radians(lat_1), math.radians(lat_2)
    delta_lat_rad, delta_lon_rad = math.radians(lat_2 - lat_1), math.radians(lon_2 - lon_1)
    a = (pow(math.sin(delta_lat_rad / 2), 2) +
         (math.cos(lat_rad_1) * math.cos(lat_rad_2) * pow(math.sin(delta_lon_rad / 2), 2)))
    c = 2 * math.atan2(math.sqrt(a), math.sqrt(1 - a))
    return 6371000 * c


def build_contact(server, sleep):
    """The seed's Contact server (section 四), as written there: its task list grows for ever,
    and getTask sends nothing — not even response headers — until its first batch is due."""
    import random

    import contact_pb2
    import contact_pb2_grpc

    class Contact(contact_pb2_grpc.ContactServicer):
        def __init__(self):
            self.tasks = []

        def sendStatus(self, request_iterator, context):
            for note in request_iterator:
                # The seed wrote result=, a field Result does not have: it is ret.
                yield contact_pb2.Result(ret=f"服务端接收到消息:{note.msg}")

        def getTask(self, request_iterator, context):
            last_index = 0
            while context.is_active():
                while len(self.tasks) > last_index:
                    n = self.tasks[last_index]
                    last_index += 1
                    yield n
                for i in range(10):
                    num = random.randint(100, 200)
                    self.tasks.append(contact_pb2.ServerMsg(task=f"任务:{num}"))
                time.sleep(sleep)

        def tellResult(self, request_iterator, context):
            for response in request_iterator:
                pass
            return contact_pb2.Empty()

    contact_pb2_grpc.add_ContactServicer_to_server(Contact(), server)


def build(server, db_path):
    import compute_pb2
    import compute_pb2_grpc
    import helloworld_pb2
    import helloworld_pb2_grpc
    import routeguide_db
    import routeguide_pb2
    import routeguide_pb2_grpc
    import SimpleCal_pb2
    import SimpleCal_pb2_grpc

    class Greeter(helloworld_pb2_grpc.GreeterServicer):
        def SayHello(self, request, context):
            return helloworld_pb2.HelloReply(message='hello {msg}'.format(msg=request.name))

        def SayHelloAgain(self, request, context):
            return helloworld_pb2.HelloReply(message='hello {msg}'.format(msg=request.name))

    class RouteGuide(routeguide_pb2_grpc.RouteGuideServicer):
        def __init__(self):
            self.db = routeguide_db.read_routeguide_db(db_path)

        def get_feature(self, point):
            for feature in self.db:
                if feature.location == point:
                    return feature
            return None

        def GetFeature(self, request, context):
            feature = self.get_feature(request)
            return feature if feature is not None else routeguide_pb2.Feature(name='', location=request)

        def ListFeature(self, request, context):
            left = min(request.lo.longitude, request.hi.longitude)
            right = max(request.lo.longitude, request.hi.longitude)
            top = max(request.lo.latitude, request.hi.latitude)
            bottom = min(request.lo.latitude, request.hi.latitude)
            for feature in self.db:
                if left <= feature.location.longitude <= right and bottom <= feature.location.latitude <= top:
                    yield feature

        def RecordRoute(self, request_iterator, context):
            point_count, feature_count, distance, prev_point = 0, 0, 0.0, None
            start_time = time.time()
            for point in request_iterator:
                point_count += 1
                if self.get_feature(point):
                    feature_count += 1
                if prev_point:
                    distance += get_distance(prev_point, point)
                prev_point = point
            return routeguide_pb2.RouteSummary(point_count=point_count, feature_count=feature_count,
                                               distance=int(distance), elapsed_time=int(time.time() - start_time))

        def RouteChat(self, request_iterator, context):
            prev_notes = []
            for new_note in request_iterator:
                for prev_note in prev_notes:
                    if prev_note.location == new_note.location:
                        yield prev_note
                prev_notes.append(new_note)

    class ComputeServicer(compute_pb2_grpc.ComputeServicer):
        def SayHello(self, request, ctx):
            return compute_pb2.HelloReply(result=str(len(request.helloworld)))

    class CalServicer(SimpleCal_pb2_grpc.CalServicer):
        def Add(self, request, context):
            return SimpleCal_pb2.ResultReply(number=request.number1 + request.number2)

        def Multiply(self, request, context):
            return SimpleCal_pb2.ResultReply(number=request.number1 * request.number2)

    helloworld_pb2_grpc.add_GreeterServicer_to_server(Greeter(), server)
    routeguide_pb2_grpc.add_RouteGuideServicer_to_server(RouteGuide(), server)
    compute_pb2_grpc.add_ComputeServicer_to_server(ComputeServicer(), server)
    SimpleCal_pb2_grpc.add_CalServicer_to_server(CalServicer(), server)


def main():
    here = pathlib.Path(__file__).resolve().parent
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--stubs", help="folder of the *_pb2 modules (compiled from proto/)")
    parser.add_argument("--db", default=str(here.parents[1] / "data" / "route_guide_db.json"))
    parser.add_argument("--contact-sleep", type=float,
                        help="host the seed's Contact, sleeping this long between task batches")
    args = parser.parse_args()
    sys.path.insert(0, str(here))
    if args.stubs:
        sys.path.insert(0, args.stubs)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
    build(server, args.db)
    if args.contact_sleep is not None:
        build_contact(server, args.contact_sleep)
    host = args.listen.rsplit(":", 1)[0]
    port = server.add_insecure_port(args.listen)
    server.start()
    print(f"listening on {host}:{port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
