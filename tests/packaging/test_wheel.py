"""The package as a user installs it: a wheel built from the repository, in a new venv.

Nothing of the checkout is reachable from the installed ``darkroom``: it runs from an
empty directory with a venv of its own, so a file missing from the wheel (stubs,
the Envoy template, migrations) fails here as it would for a user.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import media
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def _run(argv: list[str], **options: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **options)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the source as a clone has it: no stubs, no build/ leftovers,
    so only the build hook can put the stubs in the wheel."""
    source = tmp_path_factory.mktemp("source")
    listed = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT)
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    assert not list((source / "darkroom" / "v1").glob("*_pb2*"))
    out = tmp_path_factory.mktemp("wheel")
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)]
    )
    (built,) = out.glob("darkroom-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv outside the checkout with the wheel and its dependencies; its bin dir."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", str(venv)])
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)])
    return venv / "bin"


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DARKROOM_", "PYTHON"))}
    # As a user would: the venv's bin dir is not on PATH, the checkout is nowhere near.
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    env["DARKROOM_DATA_DIR"] = str(home / "data")
    return env


def test_the_wheel_carries_stubs_template_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "darkroom/v1/media_pb2.py",
        "darkroom/v1/media_pb2_grpc.py",
        "darkroom/v1/admin_pb2.py",
        "gateway/envoy/template.yaml",
        "server/adapters/db/migrations/env.py",
        "server/adapters/db/migrations/versions/0001_initial_schema.py",
    ):
        assert needed in names, f"{needed} is not in the wheel"
    assert not any(name.startswith(("tests/", "bench/")) for name in names)


@pytest.fixture(scope="module")
def served(
    installed: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, object]]:
    home = tmp_path_factory.mktemp("home")
    env = _clean_env(home)
    ready = home / "ready.json"
    with open(home / "serve.log", "wb") as log:
        process = subprocess.Popen(
            [str(installed / "darkroom"), "serve", "--port", "0", "--ready-file", str(ready)],
            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(
            lambda: process.poll() is not None or (ready.exists() and bool(ready.read_text())),
            90,
            "the installed darkroom serve",
        )
        assert process.poll() is None, (home / "serve.log").read_text()
        yield {"ready": json.loads(ready.read_text()), "env": env, "home": home, "bin": installed}
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0, (home / "serve.log").read_text()


def test_the_installed_darkroom_serves_an_upload_through_envoy(served: dict[str, object]) -> None:
    ready = served["ready"]
    assert isinstance(ready, dict)
    bin_dir = served["bin"]
    assert isinstance(bin_dir, Path)
    created = _run(
        [str(bin_dir / "darkroom"), "users", "create", "wheel-user", "--admin"],
        env=served["env"], cwd=served["home"],
    )  # fmt: skip
    key = created.stdout.strip().splitlines()[-1]
    photo = media.jpeg(1024, 768)
    with httpx.Client(base_url=str(ready["url"]), timeout=60) as http:
        reply = http.post(
            "/api/1/upload",
            headers={"X-API-Key": key},
            files={"source": ("wheel.jpg", photo, "image/jpeg")},
        )
        assert reply.status_code == 200, reply.text
        image = reply.json()["image"]
        assert (image["width"], image["height"]) == (1024, 768)
        stored = http.get(image["url"])
        assert stored.status_code == 200 and stored.headers["content-type"] == "image/jpeg"
        # The /v1 mapping needs the descriptor the installed package builds from its stubs.
        got = http.get(f"/v1/media/{image['id_encoded']}")
        assert got.status_code == 200 and got.json()["media"]["url"] == image["url"]


def test_the_installed_darkroom_prints_its_help_and_settings(
    installed: Path, tmp_path: Path
) -> None:
    env = _clean_env(tmp_path)
    assert "serve" in _run([str(installed / "darkroom"), "--help"], env=env, cwd=tmp_path).stdout
    settings = json.loads(
        _run([str(installed / "darkroom"), "config", "--json"], env=env, cwd=tmp_path).stdout
    )
    assert {row["name"] for row in settings} >= {"data_dir", "max_upload_mb", "listen_port"}
