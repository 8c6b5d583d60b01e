"""The one settings source: what is refused before anything starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.envoy.render import EnvoyPorts, render
from server.config import ConfigFileError, ServerConfig


def test_a_named_config_file_that_is_missing_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DARKROOM_CONFIG_FILE", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigFileError, match="no such file"):
        ServerConfig()


@pytest.mark.parametrize("command", [["serve"], ["config"], ["users", "list"]])
@pytest.mark.parametrize("content", [None, "data_dir = [unclosed\n", "listen_port = 'x'\n"])
def test_commands_stop_with_status_2_on_a_bad_config_file(
    tmp_path: Path, command: list[str], content: str | None
) -> None:
    config_file = tmp_path / "darkroom.toml"
    if content is not None:
        config_file.write_text(content)
    result = subprocess.run(
        [sys.executable, "-m", "server", *command],
        env={"PATH": "/usr/bin:/bin", "DARKROOM_CONFIG_FILE": str(config_file)},
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "invalid settings" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "var").exists()  # nothing ran on the defaults


@pytest.mark.parametrize("value", [0, -1])
def test_an_idle_timeout_must_be_positive(value: float) -> None:
    with pytest.raises(ValidationError):
        ServerConfig(http_idle_timeout_s=value)


def test_large_idle_timeouts_render_as_envoy_durations() -> None:
    ports = EnvoyPorts("127.0.0.1", 0, 0, 1, 2)
    config = render(
        ports, descriptor=Path("d.binpb"), media_root=Path("m"), max_body_bytes=1,
        idle_timeout_s=1e6,
    )  # fmt: skip
    assert "idle_timeout: 1000000.000s" in config


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["config"],
        ["users", "list"],
        ["envoy-config", "--upstream", "h:1", "--shim", "h:2"],
    ],
)
def test_an_incomplete_s3_setup_is_refused_without_printing_the_secret(
    tmp_path: Path, command: list[str]
) -> None:
    secret = "s3-secret-that-must-not-show"
    result = subprocess.run(
        [sys.executable, "-m", "server", *command],
        env={"PATH": "/usr/bin:/bin", "DARKROOM_STORAGE": "s3",
             "DARKROOM_S3_SECRET_ACCESS_KEY": secret},
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "DARKROOM_S3_BUCKET" in result.stderr and "DARKROOM_S3_ENDPOINT" in result.stderr
    assert secret not in result.stderr + result.stdout
