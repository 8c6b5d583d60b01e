"""What the access log and RPC metrics cost per call: WhoAmI with and without the interceptor.

Two grpc.aio servers in this process over the same services, one built as ``darkroom
server`` builds it (AccessLog interceptor, lines written to /dev/null) and one without;
calls alternate between them in rounds so drift on a shared machine hits both alike.

    .venv/bin/python -m bench.access_log_overhead [--calls 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from darkroom.v1 import media_pb2, media_pb2_grpc
from server.adapters.metrics import ServerMetrics
from server.api.interceptors import AccessLog
from server.api.media_servicer import MediaServicer
from server.app import Components, build_services
from server.config import ServerConfig


async def _server(services: Components, sink: logging.Logger | None) -> tuple[grpc.aio.Server, int]:
    interceptors = [] if sink is None else [AccessLog(services.metrics, sink)]
    server = grpc.aio.server(interceptors=interceptors)
    media_pb2_grpc.add_MediaServiceServicer_to_server(
        MediaServicer(services.auth, services.ingest, services.media), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def _per_call_us(stub: media_pb2_grpc.MediaServiceStub, key: str, calls: int) -> float:
    metadata = [("x-api-key", key)]
    start = time.perf_counter()
    for _ in range(calls):
        await stub.WhoAmI(media_pb2.WhoAmIRequest(), metadata=metadata)
    return (time.perf_counter() - start) / calls * 1e6


async def _run(calls: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        services = await build_services(ServerConfig(data_dir=Path(data_dir), grpc_port=0))
        _, key = await services.admin.create_user("bench", is_admin=True)
        # Lines are formatted and written as in production, to /dev/null.
        sink = logging.getLogger("bench.access")
        devnull = open(os.devnull, "w")  # noqa: SIM115, ASYNC230 (before any timing)
        sink.addHandler(logging.StreamHandler(devnull))
        sink.setLevel(logging.INFO)
        sink.propagate = False
        plain, plain_port = await _server(services, None)
        observed, observed_port = await _server(services, sink)
        results: dict[str, list[float]] = {"without": [], "with": []}
        async with (
            grpc.aio.insecure_channel(f"127.0.0.1:{plain_port}") as plain_channel,
            grpc.aio.insecure_channel(f"127.0.0.1:{observed_port}") as observed_channel,
        ):
            stubs = {
                "without": media_pb2_grpc.MediaServiceStub(plain_channel),
                "with": media_pb2_grpc.MediaServiceStub(observed_channel),
            }
            for stub in stubs.values():
                await _per_call_us(stub, key, 200)  # warm up both
            for _ in range(rounds):
                for name, stub in stubs.items():
                    results[name].append(await _per_call_us(stub, key, calls))
        await plain.stop(None)
        await observed.stop(None)
        services.pool.shutdown()
        services.engine.dispose()
        devnull.close()
    without, with_ = (statistics.median(results[n]) for n in ("without", "with"))
    # The same calls interleave with a shared machine's noise; the wrapper's own CPU per
    # call, measured alone, is the floor of what the difference above estimates.
    own = await _wrapper_us(calls * 5)
    print(f"WhoAmI, median of {rounds} rounds of {calls} sequential calls:")
    print(f"  without interceptor: {without:8.1f} us/call")
    print(f"  with interceptor:    {with_:8.1f} us/call")
    print(f"  overhead:            {with_ - without:8.1f} us/call ({with_ / without - 1:+.1%})")
    print(f"  the wrapper alone:   {own:8.1f} us/call (log line, metrics, context variable)")


class _Context:
    """Just what the interceptor reads of a finished, successful call."""

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("x-request-id", "0f0e0d0c-bench"),)

    def peer(self) -> str:
        return "ipv4:127.0.0.1:40000"

    def code(self) -> None:
        return None

    def trailing_metadata(self) -> tuple[()]:
        return ()

    def set_trailing_metadata(self, metadata: object) -> None:
        pass


@dataclass
class _Details:
    method: str = "/darkroom.v1.MediaService/WhoAmI"


async def _wrapper_us(calls: int) -> float:
    sink = logging.getLogger("bench.access.alone")
    with open(os.devnull, "w") as devnull:  # noqa: ASYNC230 (before any timing)
        sink.addHandler(logging.StreamHandler(devnull))
        sink.setLevel(logging.INFO)
        sink.propagate = False
        interceptor = AccessLog(ServerMetrics(), sink)

        async def answer(request: object, context: object) -> str:
            return "reply"

        handler: Any = grpc.unary_unary_rpc_method_handler(answer)

        async def continuation(details: object) -> Any:
            return handler

        details: Any = _Details()
        context: Any = _Context()
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(calls):
                wrapped: Any = await interceptor.intercept_service(continuation, details)
                await wrapped.unary_unary(None, context)
            best = min(best, (time.perf_counter() - start) / calls * 1e6)
        # The bare behavior, called the same way, is what the wrapper adds to.
        start = time.perf_counter()
        for _ in range(calls):
            await (await continuation(details)).unary_unary(None, context)
        bare = (time.perf_counter() - start) / calls * 1e6
    return best - bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(_run(args.calls, args.rounds))


if __name__ == "__main__":
    main()
