"""`darkroom envoy-config`: the Envoy config for servers and shims on other hosts, from the
same template as `darkroom serve`, loads in the real Envoy (`envoy --mode validate`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gateway.supervisor.probes import envoy_binary

SECRET = "not-in-the-file-0123456789"
S3_SETTINGS = {
    "DARKROOM_STORAGE": "s3",
    "DARKROOM_S3_ENDPOINT": "http://127.0.0.1:8333",
    "DARKROOM_S3_BUCKET": "darkroom-media",
    "DARKROOM_S3_ACCESS_KEY_ID": "envoy-reader",
    "DARKROOM_S3_SECRET_ACCESS_KEY": SECRET,
}


def envoy_config(
    tmp_path: Path, settings: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DARKROOM_", "AWS_"))}
    env.update(DARKROOM_DATA_DIR=str(tmp_path / "var"), **settings)
    return subprocess.run(
        [sys.executable, "-m", "server", "envoy-config", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_multi_host_config_validates_in_envoy(tmp_path: Path) -> None:
    made = envoy_config(
        tmp_path, S3_SETTINGS,
        "--upstream", "127.0.0.2:50051", "--upstream", "localhost:50052",
        "--shim", "127.0.0.2:8081", "--shim", "127.0.0.3:8081", "--listen", "0.0.0.0:8080",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    config = tmp_path / "envoy.yaml"
    config.write_text(made.stdout)
    checked = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(config), "--disable-hot-restart"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    text = made.stdout
    for endpoint in ('"127.0.0.2", "port_value": 50051', '"localhost", "port_value": 50052',
                     '"127.0.0.3", "port_value": 8081'):  # fmt: skip
        assert endpoint in text
    assert "STRICT_DNS" in text  # a host name among the servers: Envoy resolves it
    assert "/darkroom-media/images/" in text and "proto_descriptor_bin:" in text
    assert SECRET not in text and "envoy-reader" not in text  # keys stay in the environment
    assert "AWS_ACCESS_KEY_ID" in made.stderr


def test_without_s3_storage_it_says_why_and_writes_nothing(tmp_path: Path) -> None:
    made = envoy_config(tmp_path, {}, "--upstream", "127.0.0.2:50051", "--shim", "127.0.0.2:8081")
    assert made.returncode == 2 and made.stdout == ""
    assert "storage = s3" in made.stderr and "media_root" in made.stderr


def test_a_malformed_address_is_refused(tmp_path: Path) -> None:
    made = envoy_config(tmp_path, S3_SETTINGS, "--upstream", "no-port", "--shim", "h:1")
    assert made.returncode == 2 and "HOST:PORT" in made.stderr
