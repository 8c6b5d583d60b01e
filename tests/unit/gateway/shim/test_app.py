"""The shim's routes in process: health, the API under any method, viewer and delete pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.shim.app import create_app
from gateway.shim.pages import PAGE_HEADERS
from tests.unit.gateway.shim.fake_darkroom import (
    UNREACHABLE,
    FakeDarkroom,
    media,
    shim,
    shim_config,
)

pytestmark = pytest.mark.asyncio


@pytest.fixture
def fake() -> FakeDarkroom:
    darkroom = FakeDarkroom()
    darkroom.stored["Ab12"] = media(title="Red fox at dawn")
    return darkroom


async def test_healthz_answers_without_asking_darkroom(fake: FakeDarkroom, tmp_path: Path) -> None:
    async with shim(fake, tmp_path) as http:
        answer = await http.get("/healthz")
    assert (answer.status_code, answer.text) == (200, "ok")
    assert fake.calls == 0


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/api", "/api/1/upload", "/api/1/upload/extra"])
async def test_every_method_on_every_api_path_is_the_api(
    fake: FakeDarkroom, tmp_path: Path, method: str, path: str
) -> None:
    async with shim(fake, tmp_path) as http:
        answer = await http.request(method, path)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 100


async def test_the_home_page_and_an_unknown_path(fake: FakeDarkroom, tmp_path: Path) -> None:
    async with shim(fake, tmp_path) as http:
        home = await http.get("/")
        missing = await http.get("/no/such/page")
    assert home.status_code == 200 and "/api/1/upload" in home.text
    assert missing.status_code == 404 and "<!doctype html>" in missing.text
    for page in (home, missing):
        assert page.headers["content-security-policy"] == PAGE_HEADERS["Content-Security-Policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
    assert fake.calls == 0


@pytest.mark.parametrize("slug", ["Ab12", "red-fox-at-dawn.Ab12", "a.b.Ab12"])
async def test_a_viewer_page_looks_the_id_up_from_the_last_dot(
    fake: FakeDarkroom, tmp_path: Path, slug: str
) -> None:
    async with shim(fake, tmp_path) as http:
        answer = await http.get(f"/image/{slug}")
    assert answer.status_code == 200 and "Red fox at dawn" in answer.text
    assert fake.lookups == ["Ab12"]


async def test_a_missing_media_is_a_404_page_that_may_say_it_was_deleted(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    async with shim(fake, tmp_path) as http:
        missing = await http.get("/image/pic.Zz99")
        deleted = await http.get("/image/pic.Zz99?deleted")
    assert missing.status_code == deleted.status_code == 404
    assert missing.text != deleted.text


async def test_videos_have_their_own_route_and_both_routes_can_be_renamed(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    async with shim(fake, tmp_path, image_route="img", video_route="v") as http:
        assert (await http.get("/v/Ab12")).status_code == 200
        assert (await http.get("/img/x.Ab12")).status_code == 200
        assert (await http.get("/image/x.Ab12")).status_code == 404
    assert fake.lookups == ["Ab12", "Ab12"]


async def test_one_route_for_images_and_videos_is_fine(fake: FakeDarkroom, tmp_path: Path) -> None:
    async with shim(fake, tmp_path, image_route="m", video_route="m") as http:
        assert (await http.get("/m/Ab12")).status_code == 200


async def test_a_delete_link_deletes_and_sends_the_viewer_to_the_deleted_notice(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    async with shim(fake, tmp_path) as http:
        answer = await http.get("/image/Ab12/delete/tok3n")
    assert answer.status_code == 301
    assert answer.headers["location"] == "/image/pic.Ab12?deleted"
    assert answer.headers["cache-control"] == "no-store"
    assert fake.deletes == [("Ab12", "tok3n")]


async def test_a_delete_link_of_missing_media_is_a_404_page(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    async with shim(fake, tmp_path) as http:
        answer = await http.get("/clip/Zz99/delete/tok3n")
    assert answer.status_code == 404 and fake.deletes == []


async def test_a_page_while_darkroom_is_unreachable_is_a_503_page(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    fake.failure = UNREACHABLE
    async with shim(fake, tmp_path) as http:
        view = await http.get("/image/pic.Ab12")
        delete = await http.get("/image/Ab12/delete/tok3n")
    assert view.status_code == delete.status_code == 503
    assert "<!doctype html>" in view.text


async def test_shutting_the_app_down_closes_the_client(fake: FakeDarkroom, tmp_path: Path) -> None:
    app = create_app(shim_config(tmp_path), client=fake)
    async with app.router.lifespan_context(app):
        assert not fake.closed
    assert fake.closed


async def test_the_spool_directory_is_made_at_start(fake: FakeDarkroom, tmp_path: Path) -> None:
    create_app(shim_config(tmp_path / "deep" / "er"), client=fake)
    assert (tmp_path / "deep" / "er" / "spool").is_dir()
