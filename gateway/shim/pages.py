"""Viewer pages and delete links (``/image/slug.ID``, ``/clip/ID``, ``…/delete/TOKEN``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gateway.shim import envelope, viewer
from gateway.shim.grpc_client import CallFailed, DarkroomClient

PAGE_HEADERS = {
    "Content-Security-Policy": viewer.CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def _id_from(component: str) -> str:
    # Chevereto's getIdFromURLComponent: the id is the last dot-separated part.
    return component.rsplit(".", 1)[-1]


class Pages:
    def __init__(self, client: DarkroomClient) -> None:
        self._client = client

    async def home(self, request: Request) -> Response:
        return _page(viewer.home_page())

    async def media(self, request: Request) -> Response:
        id_encoded = _id_from(request.path_params["slug"])
        try:
            media = await self._client.get_media(id_encoded)
        except CallFailed as failed:
            if failed.reason != "MEDIA_NOT_FOUND":
                raise
            deleted = "deleted" in request.query_params
            return _page(viewer.not_found_page(deleted=deleted), 404)
        return _page(viewer.media_page(envelope.image_object(media)))

    async def delete(self, request: Request) -> Response:
        """GET deletes, as Chevereto's delete_url does; a wrong token is a 404."""
        id_encoded = request.path_params["id"]
        try:
            media = await self._client.get_media(id_encoded)
            await self._client.delete_media(id_encoded, request.path_params["token"])
        except CallFailed as failed:
            if failed.reason != "MEDIA_NOT_FOUND":
                raise
            return _page(viewer.not_found_page(), 404)
        # 301 as Chevereto answers; never cached, since the link itself is one-shot.
        return RedirectResponse(
            f"{media.path_viewer}?deleted", status_code=301, headers={"Cache-Control": "no-store"}
        )

    async def not_found(self, request: Request) -> Response:
        return _page(viewer.not_found_page(), 404)
