"""Render Envoy's config from the one template."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from darkroom.v1.media_types import MIME_OF_EXTENSION
from gateway.envoy.descriptor import SERVICES


@dataclass(frozen=True)
class EnvoyPorts:
    listen_host: str
    listen_port: int
    admin_port: int
    grpc_port: int
    shim_port: int


# What a browser sees while the service starts or a child is being restarted: Envoy
# answers it itself, so it must not depend on the shim that is not there yet.
STARTING_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta http-equiv="refresh" content="2"><title>Starting - Darkroom</title></head>'
    "<body><main><h1>Darkroom is starting</h1>"
    "<p>This page reloads by itself in a moment.</p></main></body></html>"
)


def template() -> str:
    # Package data, so an installed wheel finds it as a source checkout does.
    return resources.files("gateway.envoy").joinpath("template.yaml").read_text()


def render(
    ports: EnvoyPorts,
    *,
    descriptor: Path,
    media_root: Path,
    max_body_bytes: int,
    idle_timeout_s: float = 65.0,
    file_threads: int = 2,
) -> str:
    # JSON is valid YAML flow syntax: lists and maps drop into the template as-is.
    return Template(
        template()
    ).substitute(
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
        idle_timeout=f"{idle_timeout_s:.3f}s",  # Envoy reads durations as plain decimals
        starting_page=json.dumps(STARTING_PAGE)[1:-1],
        file_threads=file_threads,
    )
