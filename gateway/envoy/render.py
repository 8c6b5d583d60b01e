"""Render Envoy's config from the one template, and build the descriptor it reads."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template

from darkroom.media_types import MIME_OF_EXTENSION

TEMPLATE = Path(__file__).with_name("template.yaml")
PROTO_ROOT = Path(__file__).resolve().parents[2] / "proto"
SERVICES = ["darkroom.v1.MediaService", "darkroom.v1.AdminService"]


@dataclass(frozen=True)
class EnvoyPorts:
    listen_host: str
    listen_port: int
    admin_port: int
    grpc_port: int
    shim_port: int


def build_descriptor(out: Path, proto_root: Path = PROTO_ROOT) -> Path:
    """The descriptor set of darkroom.v1, with every import Envoy needs."""
    out.parent.mkdir(parents=True, exist_ok=True)
    protos = sorted(
        str(p.relative_to(proto_root)) for p in (proto_root / "darkroom").rglob("*.proto")
    )
    subprocess.run(
        [
            sys.executable, "-m", "grpc_tools.protoc", f"-I{proto_root}", "--include_imports",
            f"--descriptor_set_out={out}", *protos, "google/rpc/error_details.proto",
        ],
        check=True,
    )  # fmt: skip
    return out


def render(
    ports: EnvoyPorts,
    *,
    descriptor: Path,
    media_root: Path,
    max_body_bytes: int = 128 * 1024 * 1024,
    file_threads: int = 2,
) -> str:
    # JSON is valid YAML flow syntax: lists and maps drop into the template as-is.
    return Template(TEMPLATE.read_text()).substitute(
        listen_host=ports.listen_host,
        listen_port=ports.listen_port,
        admin_port=ports.admin_port,
        grpc_port=ports.grpc_port,
        shim_port=ports.shim_port,
        descriptor=json.dumps(str(descriptor)),
        media_root=json.dumps(f"{media_root.resolve()}/images/"),
        services=json.dumps(SERVICES),
        content_types=json.dumps(MIME_OF_EXTENSION),
        max_body_bytes=max_body_bytes,
        file_threads=file_threads,
    )
