"""Render Envoy's config from the one template."""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from gateway.envoy import media
from gateway.envoy.descriptor import SERVICES
from gateway.envoy.media import S3Media

__all__ = ["Address", "EnvoyPorts", "S3Media", "parse_address", "render"]


@dataclass(frozen=True)
class EnvoyPorts:
    listen_host: str
    listen_port: int
    admin_port: int
    grpc_port: int
    shim_port: int


@dataclass(frozen=True)
class Address:
    """An upstream endpoint: an IP address or a host name Envoy resolves, and a port."""

    host: str
    port: int

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_address(text: str) -> Address:
    """``host:port`` or ``[v6]:port``."""
    found = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:\[\]]+):(\d+)", text.strip())
    if found is None:
        raise ValueError(f"not HOST:PORT: {text!r}")
    host = found.group(1) or found.group(3)
    port = int(found.group(2) or found.group(4))
    if not 0 < port < 65_536:
        raise ValueError(f"no such port: {text!r}")
    return Address(host, port)


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


def _endpoints(upstreams: Sequence[Address]) -> str:
    return json.dumps([{"lb_endpoints": [
        {"endpoint": {"address": {"socket_address": {"address": u.host, "port_value": u.port}}}}
        for u in upstreams
    ]}])  # fmt: skip


def _cluster_type(upstreams: Sequence[Address]) -> str:
    return "STATIC" if all(u.is_ip for u in upstreams) else "STRICT_DNS"


def _items(text: str, name: str, items: list[dict[str, Any]]) -> str:
    """``items`` as YAML block-sequence entries, one JSON object a line, each indented
    as the placeholder's own line is (an empty line for none)."""
    found = re.search(rf"^( *)\$\{{{name}\}}$", text, re.MULTILINE)
    assert found is not None, f"the template has no line of its own for {name}"
    return f"\n{found.group(1)}".join(f"- {json.dumps(item)}" for item in items)


def render(
    ports: EnvoyPorts,
    *,
    descriptor: Path | bytes,
    media_root: Path | None = None,
    s3: S3Media | None = None,
    max_body_bytes: int,
    idle_timeout_s: float = 65.0,
    file_threads: int = 2,
    grpc_upstreams: Sequence[Address] | None = None,
    shim_upstreams: Sequence[Address] | None = None,
    admin_host: str = "127.0.0.1",
) -> str:
    """The config. Media come from ``media_root`` on this host or from the bucket ``s3``
    (exactly one). The upstreams default to one server and one shim on loopback at the
    ports' ``grpc_port`` and ``shim_port``. ``descriptor`` is a file Envoy reads, or the
    descriptor set itself, embedded so the config stands alone (another host)."""
    if (media_root is None) == (s3 is None):
        raise ValueError("media come from exactly one of media_root and s3")
    grpc = list(grpc_upstreams or [Address("127.0.0.1", ports.grpc_port)])
    shim = list(shim_upstreams or [Address("127.0.0.1", ports.shim_port)])
    if isinstance(descriptor, bytes):
        source = f"proto_descriptor_bin: {base64.b64encode(descriptor).decode()}"
    else:
        source = f"proto_descriptor: {json.dumps(str(descriptor))}"
    text = template()
    if s3 is not None:
        routes, filters, clusters = media.s3_routes(s3), [], media.s3_clusters(s3)
    else:
        assert media_root is not None
        routes = media.local_routes()
        filters, clusters = media.file_server_filters(media_root, file_threads), []
    # JSON is valid YAML flow syntax: lists and maps drop into the template as-is.
    return Template(
        text
    ).substitute(
        listen_host=ports.listen_host,
        listen_port=ports.listen_port,
        admin_host=admin_host,
        admin_port=ports.admin_port,
        grpc_endpoints=_endpoints(grpc),
        grpc_cluster_type=_cluster_type(grpc),
        shim_endpoints=_endpoints(shim),
        shim_cluster_type=_cluster_type(shim),
        descriptor_source=source,
        services=json.dumps(SERVICES),
        media_routes=_items(text, "media_routes", routes),
        media_filters=_items(text, "media_filters", filters),
        media_clusters=_items(text, "media_clusters", clusters),
        max_body_bytes=max_body_bytes,
        idle_timeout=f"{idle_timeout_s:.3f}s",  # Envoy reads durations as plain decimals
        starting_page=json.dumps(STARTING_PAGE)[1:-1],
    )
