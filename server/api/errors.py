"""The one table from domain errors to gRPC status, and the decorator that applies it.

A DarkroomError becomes its status code plus a google.rpc.Status detail list:
ErrorInfo(reason, domain, metadata with the Chevereto code and message) and, for
bad arguments, BadRequest field violations. Anything else becomes INTERNAL with a
fixed message; the traceback goes to the log, never to the client.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from server.domain.errors import Category, DarkroomError

log = logging.getLogger(__name__)
DOMAIN = "darkroom.v1"

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


def status_for(error: DarkroomError) -> tuple[grpc.StatusCode, status_pb2.Status]:
    code = STATUS_OF_CATEGORY[error.category]
    metadata = dict(error.metadata)
    metadata["chevereto_code"] = str(error.code)
    metadata["chevereto_message"] = error.message
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=metadata)
    details = [info]
    field = error.metadata.get("field")
    if field and error.category is Category.INVALID:
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=field, description=error.message
        )
        details.append(error_details_pb2.BadRequest(field_violations=[violation]))
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    status = status_pb2.Status(code=code.value[0], message=error.message, details=packed)
    return code, status


async def abort_with(context: grpc.aio.ServicerContext[Any, Any], error: DarkroomError) -> None:
    code, status = status_for(error)
    await context.abort(
        code,
        status.message,
        trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),),
    )


async def abort_internal(context: grpc.aio.ServicerContext[Any, Any]) -> None:
    status = status_pb2.Status(code=code_pb2.INTERNAL, message="Internal error")
    await context.abort(
        grpc.StatusCode.INTERNAL,
        status.message,
        trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),),
    )


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
            await abort_with(context, error)
        except Exception:
            log.exception("unhandled error in %s", method.__qualname__)
            await abort_internal(context)
        raise AssertionError("abort() returned")  # pragma: no cover

    return cast(F, wrapper)
