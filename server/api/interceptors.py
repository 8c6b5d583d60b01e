"""Every Darkroom call, observed: one JSON access-log line and its RPC metrics.

The request id comes from the ``x-request-id`` metadata entry: Envoy sets it on every
request it forwards, and the shim passes the one Envoy gave it on, so the three log
lines of one request share it (docs/operations.md). A call that brings none (a client
on the gRPC port itself) gets a fresh one. The line names the caller by user id and
kind, never by key, and carries the outcome (gRPC code and Chevereto code) and the
duration. Nothing of the request's messages or metadata is logged, so neither an API
key (metadata or the ``key`` field) nor a delete token can reach the log.

Health checks (Envoy probes every second) are counted but not logged. Streaming-response
methods (health Watch, reflection) are passed through unobserved: Darkroom has none.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeAlias

import grpc
from google.rpc import error_details_pb2, status_pb2

from server.api.request_meta import client_ip, metadata_value
from server.domain.caller import Caller
from server.services.auth import Authenticator

REQUEST_ID = "x-request-id"
# Sent back in the trailers once the key is known: the shim logs who called. Trailers,
# not initial metadata: sending that early costs a frame of its own on every call.
CALLER_KIND = "darkroom-caller"
USER_ID = "darkroom-user-id"
# What may pass as a request id from outside: Envoy's UUIDs and the like. Anything else
# (too long, quotes, newlines) is replaced, so a client cannot forge log structure.
_REQUEST_ID_SHAPE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_UNLOGGED_SERVICES = ("grpc.health.v1.Health",)

Context = grpc.aio.ServicerContext[Any, Any]
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"  # generic only in the stubs


class RpcMetrics(Protocol):
    def rpc_finished(
        self, service: str, method: str, grpc_code: str, chevereto_code: str, seconds: float
    ) -> None: ...


@dataclass
class _Call:
    request_id: str
    context: Context
    caller: Caller | None = None


_current: contextvars.ContextVar[_Call | None] = contextvars.ContextVar(
    "darkroom_call", default=None
)


def current_request_id() -> str | None:
    call = _current.get()
    return call.request_id if call else None


_STDERR = logging.StreamHandler(sys.stderr)
_STDERR.setFormatter(logging.Formatter("%(message)s"))


def access_logger() -> logging.Logger:
    """``darkroom.access``: bare JSON lines on stderr, apart from the server's other logs."""
    logger = logging.getLogger("darkroom.access")
    if _STDERR not in logger.handlers:
        logger.addHandler(_STDERR)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def caller_trailers() -> list[tuple[str, str]]:
    """The trailing metadata that names the current call's caller (none before auth)."""
    call = _current.get()
    if call is None or call.caller is None:
        return []
    entries = [(CALLER_KIND, call.caller.kind.value)]
    if call.caller.user_id is not None:
        entries.append((USER_ID, str(call.caller.user_id)))
    return entries


class ObservedAuthenticator(Authenticator):
    """Tells the current call who its key belongs to (the log line, the shim's line).

    Every servicer reaches a caller through ``caller()`` (``admin()`` and ``user()`` call
    it), so this one override sees each authenticated call.
    """

    async def caller(self, key: str) -> Caller:
        caller = await super().caller(key)
        call = _current.get()
        if call is not None and call.caller is None:
            call.caller = caller
        return caller


def _chevereto_code(context: Context, code: grpc.StatusCode) -> str:
    """200 for success, else the code in the call's ErrorInfo ("" when it has none)."""
    if code == grpc.StatusCode.OK:
        return "200"
    for key, value in context.trailing_metadata() or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            for detail in status_pb2.Status.FromString(value).details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return str(info.metadata.get("chevereto_code", ""))
    return ""


def _status_code(context: Context) -> grpc.StatusCode:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    # grpc.aio reports an aborted call's code as the bare integer of the status.
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return status
    return grpc.StatusCode.UNKNOWN


class AccessLog(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    def __init__(self, metrics: RpcMetrics, logger: logging.Logger | None = None) -> None:
        self._metrics = metrics
        self._log = logger or access_logger()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        rpc = handler_call_details.method
        # Coroutine functions, not lambdas: grpc.aio runs any other callable in a thread.
        if handler.unary_unary is not None:
            unary = handler.unary_unary

            async def observed_unary(request: Any, context: Context) -> Any:
                return await self._observe(rpc, context, unary, request)

            return grpc.unary_unary_rpc_method_handler(
                observed_unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            streamed = handler.stream_unary

            async def observed_stream(requests: Any, context: Context) -> Any:
                return await self._observe(rpc, context, streamed, requests)

            return grpc.stream_unary_rpc_method_handler(
                observed_stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    async def _observe(self, rpc: str, context: Context, behavior: Any, request: Any) -> Any:
        incoming = metadata_value(context, REQUEST_ID)
        request_id = (
            incoming if incoming and _REQUEST_ID_SHAPE.fullmatch(incoming) else uuid.uuid4().hex
        )
        call = _Call(request_id, context)
        token = _current.set(call)
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            response = await behavior(request, context)
            # A failed call's trailers are the abort's (server.api.errors adds these).
            trailers = caller_trailers()
            if trailers:
                context.set_trailing_metadata(trailers)
            return response
        except grpc.aio.AbortError:
            code = _status_code(context)
            raise
        except BaseException:  # cancelled by the client, or a servicer bug
            code = grpc.StatusCode.CANCELLED if context.cancelled() else grpc.StatusCode.UNKNOWN
            raise
        finally:
            _current.reset(token)
            self._finished(rpc, call, code, time.perf_counter() - started)

    def _finished(self, rpc: str, call: _Call, code: grpc.StatusCode, seconds: float) -> None:
        service, _, method = rpc.lstrip("/").rpartition("/")
        chevereto = _chevereto_code(call.context, code)
        self._metrics.rpc_finished(service, method, code.name, chevereto or "none", seconds)
        if service in _UNLOGGED_SERVICES:
            return
        caller = call.caller
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "component": "server",
            "request_id": call.request_id,
            "rpc": rpc,
            "caller": caller.kind.value if caller else None,
            "user_id": caller.user_id if caller else None,
            "grpc_code": code.name,
            "chevereto_code": int(chevereto) if chevereto.isdigit() else None,
            "duration_ms": round(seconds * 1000, 3),
            "client": client_ip(call.context) or None,
        }
        self._log.info(json.dumps(line))
