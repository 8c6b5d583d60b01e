"""The Chevereto shim as an ASGI app: routes only; the work is in upload.py and pages.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from gateway.shim import viewer
from gateway.shim.config import ShimConfig
from gateway.shim.grpc_client import CallFailed, DarkroomClient
from gateway.shim.observability import Observed, ShimMetrics
from gateway.shim.pages import Pages
from gateway.shim.upload import UploadHandler

ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_app(
    config: ShimConfig, client: DarkroomClient | None = None, metrics: ShimMetrics | None = None
) -> Starlette:
    """``client`` stands in for the gRPC one (tests); the app closes it on shutdown.
    ``metrics`` are those ``__main__`` serves (a private set when not given)."""
    if client is None:
        client = DarkroomClient(config.grpc_target, config.call_timeout_s, config.max_message_bytes)
    upload = UploadHandler(client, config)
    pages = Pages(client)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def unavailable(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CallFailed)
        return HTMLResponse(viewer.not_found_page(), status_code=exc.http_status)

    routes = [
        Route("/healthz", healthz),
        Route("/", pages.home),
        # Chevereto's router ignores the method; any path below /api/ is the API.
        Route("/api", upload.handle, methods=ANY_METHOD),
        Route("/api/{rest:path}", upload.handle, methods=ANY_METHOD),
    ]
    for route in dict.fromkeys((config.image_route, config.video_route)):
        routes += [
            Route(f"/{route}/{{id}}/delete/{{token}}", pages.delete),
            Route(f"/{route}/{{slug}}", pages.media),
        ]
    routes.append(Route("/{rest:path}", pages.not_found))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.close()

    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={CallFailed: unavailable},
        # Outermost: every answer is logged and counted, errors turned into pages included.
        middleware=[Middleware(Observed, metrics=metrics or ShimMetrics())],
    )
