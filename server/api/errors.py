"""The one table from domain errors to gRPC status, and the decorator that applies it.

A DarkroomError becomes a google.rpc.Status: its status code, its message and the
details ErrorInfo(reason, domain, metadata with the Chevereto code and message)
and, for bad arguments, BadRequest field violations. grpcio-status puts that
Status in the trailers where every client library (and Envoy's transcoder) looks.
Anything else becomes INTERNAL with a fixed message; the traceback goes to the
log, never to the client.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.api.interceptors import caller_trailers
from server.domain.errors import Category, DarkroomError

log = logging.getLogger(__name__)
DOMAIN = "darkroom.v1"
INTERNAL_MESSAGE = "Internal error"

STATUS_OF_CATEGORY: dict[Category, grpc.StatusCode] = {
    Category.INVALID: grpc.StatusCode.INVALID_ARGUMENT,
    Category.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    Category.DENIED: grpc.StatusCode.PERMISSION_DENIED,
    Category.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    Category.TOO_LARGE: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Category.PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
    Category.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    Category.TIMEOUT: grpc.StatusCode.DEADLINE_EXCEEDED,
}


def rich_status(error: DarkroomError) -> status_pb2.Status:
    metadata = dict(error.metadata)
    metadata["chevereto_code"] = str(error.code)
    metadata["chevereto_message"] = error.message
    status = status_pb2.Status(
        code=STATUS_OF_CATEGORY[error.category].value[0], message=error.message
    )
    status.details.add().Pack(
        error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=metadata)
    )
    field = error.metadata.get("field")
    if field and error.category is Category.INVALID:
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=field, description=error.message
        )
        status.details.add().Pack(error_details_pb2.BadRequest(field_violations=[violation]))
    return status


def internal_status() -> status_pb2.Status:
    return status_pb2.Status(code=grpc.StatusCode.INTERNAL.value[0], message=INTERNAL_MESSAGE)


async def _abort(context: grpc.aio.ServicerContext[Any, Any], status: status_pb2.Status) -> None:
    # What abort_with_status does, plus who the caller was (the shim's access log).
    rich = rpc_status.to_status(status)
    trailers = (*rich.trailing_metadata, *caller_trailers())
    await context.abort(rich.code, rich.details, trailing_metadata=trailers)


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def grpc_errors(method: F) -> F:
    """Turn whatever a servicer method raises into a proper gRPC status."""

    @functools.wraps(method)
    async def wrapper(
        self: object, request: object, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Any:
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise
        except DarkroomError as error:
            await _abort(context, rich_status(error))
        except Exception:
            log.exception("unhandled error in %s", method.__qualname__)
            await _abort(context, internal_status())
        raise AssertionError("abort() returned")  # pragma: no cover

    return cast(F, wrapper)
