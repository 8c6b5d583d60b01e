"""What a call says about its caller: the API key and the client's address."""

from __future__ import annotations

from typing import Any

import grpc


def metadata_value(context: grpc.aio.ServicerContext[Any, Any], name: str) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == name:
            return value if isinstance(value, str) else value.decode()
    return None


def api_key(context: grpc.aio.ServicerContext[Any, Any], field_value: str) -> str:
    # Chevereto: the header wins whenever it is present, even empty.
    header = metadata_value(context, "x-api-key")
    return header if header is not None else field_value


def client_ip(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """The address flood limits count: what the front door saw, else the TCP peer.

    Envoy (use_remote_address) appends the address it accepted the connection from to
    X-Forwarded-For, and the shim passes that header on; the last entry is the one no
    client can forge. The gRPC port itself listens on loopback only.
    """
    forwarded = metadata_value(context, "x-forwarded-for")
    if forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()
    peer = context.peer() or ""  # "ipv4:1.2.3.4:5678" or "ipv6:[::1]:5678"
    kind, _, rest = peer.partition(":")
    if kind == "ipv6":
        return rest.rpartition("]")[0].lstrip("[")
    if kind == "ipv4":
        return rest.rpartition(":")[0]
    return ""
