"""Where `darkroom serve` puts N replicas: ports a scrape config can name, all distinct."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.supervisor.layout import metrics_name, plan, replica_name
from server.config import ServerConfig


def settings(tmp_path: Path, **values: object) -> ServerConfig:
    return ServerConfig(data_dir=tmp_path, **values)  # type: ignore[arg-type]


def test_one_replica_keeps_the_layout_it_always_had(tmp_path: Path) -> None:
    layout = plan(settings(tmp_path, metrics_port=9464), 1)
    assert (layout.server_metrics, layout.shim_metrics, layout.envoy_admin) == ((9464,), 9465, 9466)
    assert replica_name(1) == "grpc server" and metrics_name(1) == "server"


def test_more_replicas_follow_envoy_admin_so_no_named_port_moves(tmp_path: Path) -> None:
    layout = plan(settings(tmp_path, metrics_port=9464), 3)
    assert layout.server_metrics == (9464, 9467, 9468)
    assert (layout.shim_metrics, layout.envoy_admin) == (9465, 9466)
    assert len(set(layout.grpc_ports)) == 3 and layout.shim_port not in layout.grpc_ports
    assert layout.grpc_target == "ipv4:" + ",".join(f"127.0.0.1:{p}" for p in layout.grpc_ports)
    assert [replica_name(i) for i in (2, 3)] == ["grpc server 2", "grpc server 3"]


def test_metrics_port_zero_gives_every_process_a_free_port_of_its_own(tmp_path: Path) -> None:
    layout = plan(settings(tmp_path, metrics_port=0), 4)
    ports = [*layout.grpc_ports, *layout.server_metrics, layout.shim_port, layout.shim_metrics]
    assert len(set(ports)) == len(ports) == 10 and 0 not in ports
    assert layout.envoy_admin == 0  # Envoy picks its own and writes it down


def test_replicas_that_would_run_past_the_last_port_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no room for 5 replicas"):
        plan(settings(tmp_path, metrics_port=65_530), 5)
