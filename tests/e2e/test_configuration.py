"""One source of configuration: a TOML file reaches every process 'darkroom serve' runs."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import media
from tests.support.stack import Stack, start_stack

BASE = "http://photos.example.test/"


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Path]]:
    root = tmp_path_factory.mktemp("configured")
    data_dir = root / "from-the-file"
    config_file = root / "darkroom.toml"
    config_file.write_text(
        f'data_dir = "{data_dir}"\n'
        f'public_base_url = "{BASE}"\n'
        'image_route = "picture"\n'
        "max_upload_mb = 7\n"
    )
    running = start_stack(
        root / "run", {"DARKROOM_CONFIG_FILE": str(config_file)}, data_dir_from_env=False
    )
    yield running, data_dir
    assert running.stop() == 0


def test_file_settings_reach_the_server_and_the_shim(
    configured: tuple[Stack, Path],
) -> None:
    stack, data_dir = configured
    key = stack.cli("users", "create", "toml-user").strip().splitlines()[-1]
    with stack.http() as http:
        reply = http.post(
            "/api/1/upload",
            headers={"X-API-Key": key},
            files={"source": ("a.jpg", media.jpeg(640, 480), "image/jpeg")},
        )
        assert reply.status_code == 200, reply.text
        image = reply.json()["image"]
        # The server used the file's base URL, route and data directory...
        assert image["url"].startswith(f"{BASE}images/")
        assert image["url_viewer"].startswith(f"{BASE}picture/")
        stored = data_dir / "media" / image["url"].removeprefix(BASE)
        assert stored.is_file()
        # ...and the shim serves the viewer under the same route.
        page = http.get(image["url_viewer"].replace(BASE, stack.url))
        assert page.status_code == 200
        assert image["url"] in page.text


def test_transport_limits_follow_the_upload_ceiling(configured: tuple[Stack, Path]) -> None:
    """A ceiling of 7 MB sizes every hop: a 6 MB base64 source reaches the server, which
    applies the run-time limit; only a body over the ceiling is refused on the way, and
    then as Chevereto words a form over its maximum size."""
    stack, _ = configured
    photo = media.jpeg(640, 480)

    def upload(http: httpx.Client, size: int) -> httpx.Response:
        payload = photo + bytes(size - len(photo))  # a JPEG with a trailer
        return http.post(
            "/api/1/upload",
            headers={"X-API-Key": stack.admin_key},
            data={"source": base64.b64encode(payload).decode()},
        )

    with stack.http() as http:
        refused = http.patch(
            "/v1/settings",
            json={"upload_max_filesize_mb": 8},
            headers={"X-API-Key": stack.admin_key},
        )
        assert refused.status_code == 400
        assert "at most 7 MB" in refused.json()["message"]
        for limit, size, answer in (
            (7, 6_000_000, None),
            (5, 6_000_000, {"message": "File too big - max 5 MB", "code": 400}),
            (7, 9_000_000, {"message": "File exceeds form max size (UPLOAD_ERR_FORM_SIZE)",
                            "code": 601}),
        ):  # fmt: skip
            http.patch(
                "/v1/settings",
                json={"upload_max_filesize_mb": limit},
                headers={"X-API-Key": stack.admin_key},
            ).raise_for_status()
            reply = upload(http, size)
            if answer is None:
                assert reply.status_code == 200, reply.text[:300]
                assert reply.json()["image"]["width"] == 640  # the trailer is dropped
            else:
                assert reply.status_code == 400 and reply.json()["error"] == answer


def test_darkroom_config_says_where_each_setting_comes_from(
    configured: tuple[Stack, Path],
) -> None:
    stack, data_dir = configured
    result = subprocess.run(
        [sys.executable, "-m", "server", "config", "--json"],
        env=stack.env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["data_dir"]["value"] == str(data_dir)
    assert rows["data_dir"]["source"].startswith("file ")
    assert rows["image_route"]["value"] == "picture"
    assert rows["timezone"]["source"] == "default"
    assert rows["reaper_interval_s"]["source"] == "environment DARKROOM_REAPER_INTERVAL_S"
    assert all(row["description"] for row in rows.values())
