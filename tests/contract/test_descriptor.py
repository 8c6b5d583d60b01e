"""The contract builds with buf and its descriptor set loads in a real Envoy transcoder."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from darkroom.v1 import admin_pb2, media_pb2

ROOT = Path(__file__).resolve().parents[2]
SERVICES = [
    media_pb2.DESCRIPTOR.services_by_name["MediaService"].full_name,
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; scripts/bootstrap installs it")
    return path


def _descriptor(tmp_path: Path) -> Path:
    out = tmp_path / "darkroom.binpb"
    subprocess.run([_tool("buf"), "build", "-o", str(out)], cwd=ROOT, check=True)
    return out


def _validate(
    tmp_path: Path, descriptor: Path, services: list[str]
) -> subprocess.CompletedProcess[str]:
    """Run `envoy --mode validate` on a listener whose transcoder reads the descriptor."""
    typed = "type.googleapis.com/envoy.extensions"
    transcoder = {
        "@type": f"{typed}.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
        "proto_descriptor": str(descriptor),
        "services": services,
        "request_validation_options": {"reject_unknown_method": True},
    }
    manager = {
        "@type": f"{typed}.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "validate",
        "route_config": {
            "virtual_hosts": [
                {
                    "name": "all",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "grpc"}}],
                }
            ]
        },
        "http_filters": [
            {"name": "envoy.filters.http.grpc_json_transcoder", "typed_config": transcoder},
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": f"{typed}.filters.http.router.v3.Router"},
            },
        ],
    }
    config = {"static_resources": {
        "listeners": [{
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
            "filter_chains": [{"filters": [{
                "name": "envoy.filters.network.http_connection_manager", "typed_config": manager,
            }]}],
        }],
        "clusters": [{
            "name": "grpc",
            "type": "STATIC",
            "typed_extension_protocol_options": {
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                    "@type": f"{typed}.upstreams.http.v3.HttpProtocolOptions",
                    "explicit_http_config": {"http2_protocol_options": {}},
                }
            },
            "load_assignment": {"cluster_name": "grpc", "endpoints": [{"lb_endpoints": [
                {"endpoint": {"address": {"socket_address": {
                    "address": "127.0.0.1", "port_value": 50051}}}}]}]},
        }],
    }}  # fmt: skip
    path = tmp_path / "envoy.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [_tool("envoy"), "--mode", "validate", "-c", str(path), "--disable-hot-restart"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_buf_lint_passes() -> None:
    result = subprocess.run(
        [_tool("buf"), "lint"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_descriptor_set_loads_in_envoy_transcoder(tmp_path: Path) -> None:
    result = _validate(tmp_path, _descriptor(tmp_path), SERVICES)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_a_service_the_descriptor_lacks_fails_validation(tmp_path: Path) -> None:
    """Guards the test above: validate really reads the descriptor."""
    result = _validate(tmp_path, _descriptor(tmp_path), ["darkroom.v1.NoSuchService"])
    assert result.returncode != 0
    assert "NoSuchService" in result.stdout + result.stderr


def test_the_generated_gateway_config_validates(tmp_path: Path) -> None:
    """The config 'darkroom serve' runs: rendered from the one template, real descriptor."""
    from gateway.envoy.descriptor import write_descriptor_set
    from gateway.envoy.render import EnvoyPorts, render

    descriptor = write_descriptor_set(tmp_path / "darkroom.binpb")
    config = tmp_path / "envoy.yaml"
    media_root = tmp_path / "media # with: odd chars"
    config.write_text(
        render(EnvoyPorts("127.0.0.1", 0, 0, 50051, 8081), descriptor=descriptor,
               media_root=media_root, max_body_bytes=270 * 1024 * 1024)
    )  # fmt: skip
    result = subprocess.run(
        [_tool("envoy"), "--mode", "validate", "-c", str(config), "--disable-hot-restart"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"{media_root.resolve()}/images/" in config.read_text()


def test_the_descriptor_from_the_stubs_carries_every_http_rule_buf_builds(tmp_path: Path) -> None:
    """An installed package builds Envoy's descriptor from its stubs, without protoc or
    the .proto files: it must hold the same methods and HTTP mappings as the contract."""
    from google.api import annotations_pb2
    from google.protobuf import descriptor_pb2

    from gateway.envoy.descriptor import descriptor_set

    def rules(data: bytes) -> dict[str, str]:
        found = {}
        for file in descriptor_pb2.FileDescriptorSet.FromString(data).file:
            for service in file.service:
                for method in service.method:
                    rule = method.options.Extensions[annotations_pb2.http]
                    found[f"{file.package}.{service.name}.{method.name}"] = str(rule)
        return found

    from_stubs = rules(descriptor_set())
    from_buf = rules(_descriptor(tmp_path).read_bytes())
    assert from_stubs == from_buf
    assert len(from_stubs) > 10 and all(from_stubs.values())
