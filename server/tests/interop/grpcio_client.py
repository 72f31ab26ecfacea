#!/usr/bin/env python3
"""A gRPC client vtr did not write: Python's grpcio, with no generated code.

It learns the API the way any tool would, from the server's reflection
(v1alpha and v1), builds its messages from the descriptors it fetched, and
calls health and real `vtr.v1.Vtr` methods. It prints one JSON report on
stdout; the Rust integration test (server/tests/integration/interop.rs)
starts the hub and spokes and asserts on the report.

Usage: grpcio_client.py TARGET [--token FILE] [--authority NAME] [--probe]
       grpcio_client.py TARGET --token FILE --as FILE2 --calls JSON

  TARGET       a grpcio target: unix:/path/to.sock, unix:///path, 127.0.0.1:PORT
  --token      send `authorization: Bearer <contents of FILE>`
  --authority  send this `:authority` (as other gRPC clients do on a Unix
               socket: the socket path, or the path percent-encoded)
  --probe      only call Health.Check and report its status code
  --as, --calls  learn the API by reflection with --token, then make the
               unary calls JSON lists ([{"service", "method", "fields",
               "deadline_s"}], the deadline 20 s unless given) with
               `authorization: Bearer <contents of FILE2>` instead (a grant's
               token, say), reporting each one's status code, details, and
               answer as JSON
"""

import argparse
import json
import queue
import sys
import time

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

TIMEOUT = 20
# gRPC status codes by number, as vtr.v1.LinkError carries them.
CODES = {code.value[0]: code.name for code in grpc.StatusCode}
VERSIONS = ("v1alpha", "v1")


# --- protobuf wire format, just enough for the reflection protocol -------
# Reflection's own messages are built by hand: the client cannot describe
# them before it has a reflection service to ask.


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_bytes(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def fields(data):
    """Yields (number, value) of a message: ints for varints, bytes for
    length-delimited fields."""
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 2:
            length, i = read_varint(data, i)
            value, i = data[i : i + length], i + length
        elif wire == 1:
            value, i = data[i : i + 8], i + 8
        elif wire == 5:
            value, i = data[i : i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, value


def read_varint(data, i):
    shift = result = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


# ServerReflectionRequest / ServerReflectionResponse field numbers, the same
# in v1alpha and v1.
REQ_FILE_BY_FILENAME = 3
REQ_FILE_CONTAINING_SYMBOL = 4
REQ_LIST_SERVICES = 7
RESP_FILE_DESCRIPTOR = 4
RESP_LIST_SERVICES = 6
RESP_ERROR = 7


class Reflection:
    """One reflection stream (either version), asked one question at a time."""

    def __init__(self, channel, version, metadata):
        method = f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"
        self.call = channel.stream_stream(method)
        self.metadata = metadata

    def ask(self, number, text):
        request = field_bytes(number, text.encode())
        responses = list(self.call(iter([request]), metadata=self.metadata, timeout=TIMEOUT))
        if len(responses) != 1:
            raise RuntimeError(f"{len(responses)} reflection answers to one question")
        for field, value in fields(responses[0]):
            if field == RESP_ERROR:
                raise RuntimeError(f"reflection error: {dict(fields(value))}")
            if field in (RESP_FILE_DESCRIPTOR, RESP_LIST_SERVICES):
                return value
        raise RuntimeError("reflection answer without a result")

    def services(self):
        answer = self.ask(REQ_LIST_SERVICES, "")
        names = []
        for field, service in fields(answer):
            if field == 1:
                names += [v.decode() for n, v in fields(service) if n == 1]
        return sorted(names)

    def files(self, number, text):
        answer = self.ask(number, text)
        return [descriptor_pb2.FileDescriptorProto.FromString(v) for n, v in fields(answer) if n == 1]


def describe(reflection, services):
    """A descriptor pool holding every file `services` need, fetched by
    reflection alone (imports asked for by name when not sent along)."""
    files = {}
    wanted = []
    for service in services:
        wanted += reflection.files(REQ_FILE_CONTAINING_SYMBOL, service)
    while wanted:
        proto = wanted.pop()
        if proto.name in files:
            continue
        files[proto.name] = proto
        for dep in proto.dependency:
            if dep not in files:
                wanted += reflection.files(REQ_FILE_BY_FILENAME, dep)
    pool = descriptor_pool.DescriptorPool()
    added = set()

    def add(name):
        if name in added:
            return
        for dep in files[name].dependency:
            add(dep)
        pool.Add(files[name])
        added.add(name)

    for name in files:
        add(name)
    return pool


def message_class(pool, name):
    descriptor = pool.FindMessageTypeByName(name)
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


class Api:
    """Unary calls built from a pool: no generated stubs."""

    def __init__(self, channel, pool, metadata):
        self.channel = channel
        self.pool = pool
        self.metadata = metadata

    def call(self, service, method, /, timeout=TIMEOUT, **fields_):
        descriptor = self.pool.FindServiceByName(service).FindMethodByName(method)
        request = message_class(self.pool, descriptor.input_type.full_name)(**fields_)
        response = message_class(self.pool, descriptor.output_type.full_name)
        stub = self.channel.unary_unary(
            f"/{service}/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response.FromString,
        )
        return stub(request, metadata=self.metadata, timeout=timeout)


def probe(channel, metadata):
    """Health.Check with hand-built bytes: the status code only."""
    check = channel.unary_unary("/grpc.health.v1.Health/Check")
    try:
        check(b"", metadata=metadata, timeout=TIMEOUT)
        return {"health_code": "OK"}
    except grpc.RpcError as e:
        return {"health_code": e.code().name, "details": e.details()}


def run(channel, metadata, label):
    report = {"services": {}, "methods": {}}
    pool = None
    for version in VERSIONS:
        reflection = Reflection(channel, version, metadata)
        services = reflection.services()
        report["services"][version] = services
        pool = describe(reflection, services)
        report["methods"][version] = {
            s: sorted(m.name for m in pool.FindServiceByName(s).methods) for s in services
        }
    api = Api(channel, pool, metadata)
    health = api.call("grpc.health.v1.Health", "Check", service="")
    report["health"] = pool.FindEnumTypeByName(
        "grpc.health.v1.HealthCheckResponse.ServingStatus"
    ).values_by_number[health.status].name

    name = f"py-{label}"
    text = f"hello from grpcio over {label}"
    info = api.call(
        "vtr.v1.Vtr",
        "Spawn",
        name=name,
        command="sh",
        args=["-c", f"stty -echo; printf '%s\\n' '{text}'; exec cat"],
        cols=100,
        rows=30,
    )
    session = f"{info.spoke}:{info.name}"
    report["spawned"] = {"name": info.name, "spoke": info.spoke, "cols": info.cols, "rows": info.rows}
    listed = api.call("vtr.v1.Vtr", "List")
    report["listed"] = sorted(f"{s.spoke}:{s.name}" for s in listed.sessions)
    report["watched"] = watched_sessions(api)
    deadline = time.monotonic() + TIMEOUT
    while True:
        screen = api.call("vtr.v1.Vtr", "GetScreen", session=session)
        if text in screen.lines or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    report["screen"] = {"cols": screen.cols, "rows": screen.rows, "first_line": screen.lines[0] if screen.lines else ""}
    report["link"] = link(api, session)
    api.call("vtr.v1.Vtr", "Kill", session=session, signal="KILL")
    report["run"] = run_command(api, f"py-run-{label}")
    return report


def calls_as(channel, metadata, other, calls):
    """Reflection as `metadata`, then `calls` as `other`."""
    reflection = Reflection(channel, "v1", metadata)
    pool = describe(reflection, reflection.services())
    api = Api(channel, pool, other)
    report = []
    for c in calls:
        try:
            deadline = c.get("deadline_s", TIMEOUT)
            answer = api.call(c["service"], c["method"], timeout=deadline, **c.get("fields", {}))
            report.append({"code": "OK", "answer": json_format.MessageToDict(answer)})
        except grpc.RpcError as e:
            report.append({"code": e.code().name, "details": e.details()})
    return {"calls": report}


def run_command(api, name):
    """Run in a bash the spoke starts (with its shell integration), then
    the commands it lists."""
    info = api.call("vtr.v1.Vtr", "Spawn", name=name, command="bash")
    session = f"{info.spoke}:{info.name}"
    r = api.call(
        "vtr.v1.Vtr", "Run", session=session, command="printf 'x\\n'; (exit 5)", timeout_ms=10000
    )
    end = api.pool.FindEnumTypeByName("vtr.v1.RunEnd").values_by_number[r.end].name
    listed = api.call("vtr.v1.Vtr", "ListCommands", session=session)
    api.call("vtr.v1.Vtr", "Kill", session=session, signal="KILL")
    return {
        "end": end,
        "exit_code": r.command.exit_code if r.command.HasField("exit_code") else None,
        "output": r.output,
        "listed": [[c.seq, c.text, c.exit_code] for c in listed.commands],
        "shell_integration": listed.shell_integration,
    }


def watched_sessions(api):
    """The first list WatchSessions streams, as `spoke:name`s."""
    descriptor = api.pool.FindServiceByName("vtr.v1.Vtr").FindMethodByName("WatchSessions")
    request = message_class(api.pool, descriptor.input_type.full_name)()
    response = message_class(api.pool, descriptor.output_type.full_name)
    stub = api.channel.unary_stream(
        "/vtr.v1.Vtr/WatchSessions",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response.FromString,
    )
    lists = stub(request, metadata=api.metadata, timeout=TIMEOUT)
    first = next(lists)
    lists.cancel()
    return sorted(f"{s.spoke}:{s.name}" for s in first.sessions)


def link(api, session):
    """Input and output on one vtr.v1.Link stream: a watch of the `cat`
    session and one of a session that does not exist, three kinds of input
    for the session, one for the missing session and one empty request.
    The input goes once the watch has its snapshot. Reports each request's
    first reply, the watch's events in order, and
    the screen lines that followed (the session does not echo: each line
    is what `cat` wrote back)."""
    request = message_class(api.pool, "vtr.v1.LinkRequest")
    reply = message_class(api.pool, "vtr.v1.LinkReply")
    outbox = queue.Queue()
    outbox.put(request(id=10, watch={"session": session}))
    outbox.put(request(id=11, watch={"session": session + "-nosuch"}))
    inputs = [
        request(id=1, bytes={"session": session, "data": b"one\n"}),
        request(id=2, text={"session": session, "text": "two", "submit": True}),
        request(id=3, keys={"session": session, "keys": ["t", "h", "r", "e", "e", "enter"]}),
        request(id=4, bytes={"session": session + "-nosuch", "data": b"x"}),
        request(id=5),
    ]

    def requests():
        while (r := outbox.get()) is not None:
            yield r

    stub = api.channel.stream_stream(
        "/vtr.v1.Link/Open",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=reply.FromString,
    )
    replies = {}
    offsets = []
    events = []
    output = b""
    for answer in stub(requests(), metadata=api.metadata, timeout=TIMEOUT):
        kind = answer.WhichOneof("reply")
        if kind == "event":
            event = answer.event.WhichOneof("event")
            if not events or events[-1] != event:
                events.append(event)
            if event == "snapshot" and inputs:
                # Typed once the watch has its starting screen.
                for r in inputs:
                    outbox.put(r)
                inputs = []
            if event == "output":
                output += answer.event.output.data
            if b"three" in output:
                outbox.put(request(id=12, unwatch=10))
                outbox.put(None)
            continue
        if kind == "ended":
            events.append("ended")
            continue
        if answer.id in replies:
            continue
        if kind == "sent":
            replies[answer.id] = "OK"
            offsets.append(answer.sent.offset)
        elif kind == "watching":
            replies[answer.id] = "watching"
        else:
            replies[answer.id] = CODES.get(answer.error.code, str(answer.error.code))
    wanted = ["one", "two", "three"]
    deadline = time.monotonic() + TIMEOUT
    while True:
        lines = [line for line in api.call("vtr.v1.Vtr", "GetScreen", session=session).lines if line][1:]
        if lines == wanted or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return {
        "replies": {str(k): v for k, v in sorted(replies.items())},
        "offsets_rise": offsets == sorted(offsets) and len(offsets) == 3,
        "events": events[:2],
        "output": output.decode(errors="replace"),
        "lines": lines,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("--token")
    parser.add_argument("--authority")
    parser.add_argument("--label", default="grpcio")
    parser.add_argument("--probe", action="store_true")
    parser.add_argument("--as", dest="as_token")
    parser.add_argument("--calls")
    args = parser.parse_args()
    options = [("grpc.default_authority", args.authority)] if args.authority else []
    metadata = []
    if args.token:
        with open(args.token, encoding="utf-8") as f:
            metadata.append(("authorization", f"Bearer {f.read().strip()}"))
    with grpc.insecure_channel(args.target, options=options) as channel:
        if args.probe:
            report = probe(channel, metadata)
        elif args.as_token:
            with open(args.as_token, encoding="utf-8") as f:
                other = [("authorization", f"Bearer {f.read().strip()}")]
            report = calls_as(channel, metadata, other, json.loads(args.calls))
        else:
            report = run(channel, metadata, args.label)
    report["grpcio"] = grpc.__version__
    json.dump(report, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
