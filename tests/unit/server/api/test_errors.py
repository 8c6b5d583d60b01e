"""Domain errors on the wire: one table to gRPC status, details that grpcio-status reads.

The round trips run through a real grpc.aio server on a free port, so what is
checked is what a client receives, not what the servicer meant to send.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import grpc
import pytest
import pytest_asyncio
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.api.errors import DOMAIN, STATUS_OF_CATEGORY, grpc_errors, rich_status
from server.domain import errors
from server.domain.errors import Category, DarkroomError

Code = grpc.StatusCode

# The wire contract: every client-visible error, its status and its Chevereto code.
WIRE: dict[type[DarkroomError], tuple[grpc.StatusCode, int]] = {
    errors.NoKeyProvided: (Code.UNAUTHENTICATED, 100),
    errors.InvalidApiKey: (Code.UNAUTHENTICATED, 100),
    errors.RequestDenied: (Code.PERMISSION_DENIED, 401),
    errors.PermissionDenied: (Code.PERMISSION_DENIED, 403),
    errors.UrlUploadDisabled: (Code.PERMISSION_DENIED, 403),
    errors.Flooding: (Code.RESOURCE_EXHAUSTED, 130),
    errors.EmptyUploadSource: (Code.INVALID_ARGUMENT, 130),
    errors.EmptySource: (Code.INVALID_ARGUMENT, 130),
    errors.Base64NotPosted: (Code.INVALID_ARGUMENT, 130),
    errors.InvalidBase64: (Code.INVALID_ARGUMENT, 120),
    errors.UnsupportedUrl: (Code.INVALID_ARGUMENT, 400),
    errors.UrlFetchFailed: (Code.UNAVAILABLE, 202),
    errors.UrlFetchTimeout: (Code.DEADLINE_EXCEEDED, 202),
    errors.InvalidImage: (Code.INVALID_ARGUMENT, 400),
    errors.SourceInfoUnreadable: (Code.INVALID_ARGUMENT, 610),
    errors.UnavailableFormat: (Code.INVALID_ARGUMENT, 613),
    errors.DisabledFormat: (Code.INVALID_ARGUMENT, 614),
    errors.FileTooBig: (Code.RESOURCE_EXHAUSTED, 400),
    errors.ImageTooLarge: (Code.RESOURCE_EXHAUSTED, 400),
    errors.WidthUpscale: (Code.INVALID_ARGUMENT, 610),
    errors.InvalidVideo: (Code.INVALID_ARGUMENT, 100),
    errors.VideoCodecNotAllowed: (Code.INVALID_ARGUMENT, 613),
    errors.VideoTooLarge: (Code.RESOURCE_EXHAUSTED, 400),
    errors.ProcessingTimeout: (Code.DEADLINE_EXCEEDED, 600),
    errors.MediaNotFound: (Code.NOT_FOUND, 404),
    errors.NotFound: (Code.NOT_FOUND, 404),
    errors.AlreadyExists: (Code.FAILED_PRECONDITION, 400),
    errors.InvalidArgument: (Code.INVALID_ARGUMENT, 400),
    errors.StorageFailure: (Code.UNAVAILABLE, 600),
}


def every_error() -> list[type[DarkroomError]]:
    found: list[type[DarkroomError]] = []
    pending = list(DarkroomError.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.__name__)


def unpacked(status: status_pb2.Status) -> tuple[Any, Any]:
    """The ErrorInfo and the BadRequest (or None) of a status, checking nothing else hides."""
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    kinds = [
        "info" if detail.Unpack(info) else "bad" if detail.Unpack(bad) else detail.type_url
        for detail in status.details
    ]
    assert kinds in (["info"], ["info", "bad"]), kinds
    return info, bad if "bad" in kinds else None


# --- the table ----------------------------------------------------------------------------


def test_the_wire_table_names_every_error() -> None:
    assert set(WIRE) == set(every_error())


def test_reasons_are_unique_upper_snake() -> None:
    reasons = [cls.reason for cls in every_error()]
    assert len(set(reasons)) == len(reasons)
    assert all(reason.isupper() and " " not in reason for reason in reasons)
    assert DarkroomError.reason not in reasons


@pytest.mark.parametrize("cls", every_error(), ids=lambda cls: cls.__name__)
def test_each_error_has_a_chevereto_code_and_its_status(cls: type[DarkroomError]) -> None:
    status_code, chevereto_code = WIRE[cls]
    assert cls.code == chevereto_code
    assert cls.default_message
    assert STATUS_OF_CATEGORY[cls.category] is status_code


def test_every_category_has_a_status_and_no_two_share_one() -> None:
    assert set(STATUS_OF_CATEGORY) == set(Category)
    assert len(set(STATUS_OF_CATEGORY.values())) == len(Category)
    assert Code.INTERNAL not in STATUS_OF_CATEGORY.values()


# --- the status built for an error --------------------------------------------------------


@pytest.mark.parametrize("cls", every_error(), ids=lambda cls: cls.__name__)
def test_status_carries_reason_domain_and_chevereto_pair(cls: type[DarkroomError]) -> None:
    status = rich_status(cls(id="Ab12"))
    assert status.code == WIRE[cls][0].value[0]
    assert status.message == cls.default_message
    info, bad = unpacked(status)
    assert (info.reason, info.domain) == (cls.reason, DOMAIN)
    assert dict(info.metadata) == {
        "id": "Ab12",
        "chevereto_code": str(cls.code),
        "chevereto_message": cls.default_message,
    }
    assert bad is None


def test_bad_arguments_name_their_field() -> None:
    status = rich_status(errors.InvalidArgument("Invalid page_token", field="page_token"))
    info, bad = unpacked(status)
    assert info.metadata["field"] == "page_token"
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("page_token", "Invalid page_token")
    ]


def test_only_invalid_arguments_get_field_violations() -> None:
    _, bad = unpacked(rich_status(errors.NotFound("No such album", field="album_id")))
    assert bad is None


# --- through a real server ----------------------------------------------------------------

Context = grpc.aio.ServicerContext[Any, Any]
Behaviour = Callable[[Context], Awaitable[bytes]]


class Servicer:
    """One unary method whose behaviour each test sets."""

    def __init__(self) -> None:
        self.behaviour: Behaviour = self.ok

    @staticmethod
    async def ok(context: Context) -> bytes:
        return b"fine"

    @grpc_errors
    async def Call(self, request: bytes, context: Context) -> bytes:
        return await self.behaviour(context)


@pytest_asyncio.fixture
async def served() -> AsyncIterator[tuple[Servicer, grpc.aio.Channel]]:
    servicer = Servicer()
    handler = grpc.method_handlers_generic_handler(
        "test.Errors", {"Call": grpc.unary_unary_rpc_method_handler(servicer.Call)}
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield servicer, channel
    finally:
        await channel.close(grace=None)
        await server.stop(grace=None)


async def failed_call(channel: grpc.aio.Channel) -> tuple[grpc.StatusCode, str, Any]:
    """Code, message and google.rpc.Status of a failed call, as grpcio-status reads them."""
    call = channel.unary_unary("/test.Errors/Call", None, None)(b"")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    # grpc_status-stubs do not declare the aio module.
    status = await rpc_status.aio.from_call(call)  # type: ignore[attr-defined]
    # The shim reads the finished call's error with the synchronous reader: the same.
    assert rpc_status.from_call(cast(grpc.Call, failure.value)) == status
    return await call.code(), await call.details(), status


def raising(error: Exception) -> Behaviour:
    async def behaviour(context: Context) -> bytes:
        raise error

    return behaviour


@pytest.mark.asyncio
async def test_a_result_passes_through(served: tuple[Servicer, grpc.aio.Channel]) -> None:
    _, channel = served
    assert await channel.unary_unary("/test.Errors/Call", None, None)(b"") == b"fine"


@pytest.mark.asyncio
@pytest.mark.parametrize("cls", every_error(), ids=lambda cls: cls.__name__)
async def test_client_reads_the_status_back(
    served: tuple[Servicer, grpc.aio.Channel], cls: type[DarkroomError]
) -> None:
    servicer, channel = served
    error = cls(f"{cls.__name__} — ünïcode text", field="page_size")
    servicer.behaviour = raising(error)
    code, details, status = await failed_call(channel)
    assert code is WIRE[cls][0]
    assert details == status.message == error.message
    assert status == rich_status(error)
    info, _ = unpacked(status)
    assert (info.reason, info.metadata["chevereto_code"]) == (cls.reason, str(cls.code))


@pytest.mark.asyncio
async def test_field_violations_survive_the_wire(
    served: tuple[Servicer, grpc.aio.Channel],
) -> None:
    servicer, channel = served
    servicer.behaviour = raising(
        errors.InvalidArgument("page_size must not be negative", field="page_size")
    )
    _, _, status = await failed_call(channel)
    _, bad = unpacked(status)
    assert [v.field for v in bad.field_violations] == ["page_size"]


@pytest.mark.asyncio
async def test_unknown_exceptions_are_internal_with_a_fixed_message(
    served: tuple[Servicer, grpc.aio.Channel], caplog: pytest.LogCaptureFixture
) -> None:
    servicer, channel = served
    servicer.behaviour = raising(RuntimeError("secret path /srv/db"))
    code, details, status = await failed_call(channel)
    assert (code, details) == (Code.INTERNAL, "Internal error")
    assert status == status_pb2.Status(code=Code.INTERNAL.value[0], message="Internal error")
    assert "secret path" in caplog.text  # logged for the operator, never sent


@pytest.mark.asyncio
async def test_an_abort_of_the_method_itself_is_left_alone(
    served: tuple[Servicer, grpc.aio.Channel],
) -> None:
    servicer, channel = served

    async def aborting(context: Context) -> bytes:
        await context.abort(Code.ABORTED, "the method's own words")

    servicer.behaviour = aborting
    code, details, status = await failed_call(channel)
    assert (code, details, status) == (Code.ABORTED, "the method's own words", None)
