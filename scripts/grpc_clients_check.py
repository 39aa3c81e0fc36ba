"""Drives each actas gRPC port with Python's grpcio, knowing nothing but
what reflection says: lists the services, fetches their descriptors on one
reflection stream (ProtoReflectionDescriptorDatabase looks several symbols
up on the same stream, so a lookup that misses must not end it), builds the
request and answer messages from those descriptors, and calls a read-only
RPC and health. Exits non-zero on the first thing that is not so.

    python grpc_clients_check.py PERMISSION_ADDR TOKEN_ISSUER_ADDR SESSION_ADDR
"""

import sys

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

STANDARD = {
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
}
DEMO_ACCESS_KEY = "SWSCDEMOEU0000000000000000"
EU = "018f8d3a-5e00-7000-8000-000000000e01"

# Per port: its one actas service, and a read-only call with what its answer must hold.
PORTS = [
    ("actas.v1.PermissionService", "ResolveSalesChannel", {"accessKey": DEMO_ACCESS_KEY}, ("id", EU)),
    ("actas.v1.TokenIssuer", "GetJwks", {}, ("keys", None)),
    ("actas.v1.SessionService", "GetIssuePolicy", {}, ("reasonMaxChars", None)),
]


def fail(message):
    print(f"FAIL  {message}")
    sys.exit(1)


def call(channel, pool, service, method, fields):
    """Calls service/method with a request built from reflection's descriptors."""
    descriptor = pool.FindServiceByName(service).FindMethodByName(method)
    request_class = message_factory.GetMessageClass(descriptor.input_type)
    answer_class = message_factory.GetMessageClass(descriptor.output_type)
    request = json_format.ParseDict(fields, request_class())
    stub = channel.unary_unary(
        f"/{service}/{method}",
        request_serializer=request_class.SerializeToString,
        response_deserializer=answer_class.FromString,
    )
    return json_format.MessageToDict(stub(request, timeout=5))


def check(address, service, method, fields, expected):
    with grpc.insecure_channel(address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        listed = set(database.get_services())
        if listed != STANDARD | {service}:
            fail(f"{address}: reflection lists {sorted(listed)}, expected {service} and the standard services")
        pool = descriptor_pool.DescriptorPool(database)
        # A miss first: the same stream must still answer what follows.
        try:
            pool.FindMessageTypeByName("actas.v1.NoSuchMessage")
            fail(f"{address}: a symbol that does not exist was found")
        except KeyError:
            pass
        answer = call(channel, pool, service, method, fields)
        key, value = expected
        if key not in answer or (value is not None and answer[key] != value):
            fail(f"{address}: {service}/{method} answered {answer}")
        for health_service in ["", service]:
            health = call(channel, pool, "grpc.health.v1.Health", "Check", {"service": health_service})
            if health.get("status") != "SERVING":
                fail(f"{address}: health of {health_service!r} is {health}")
        print(f"ok    {address}: {service}/{method} and health, from reflection alone")


def main():
    addresses = sys.argv[1:]
    if len(addresses) != len(PORTS):
        fail(f"usage: {sys.argv[0]} PERMISSION_ADDR TOKEN_ISSUER_ADDR SESSION_ADDR")
    for address, (service, method, fields, expected) in zip(addresses, PORTS):
        check(address, service, method, fields, expected)


if __name__ == "__main__":
    main()
