"""Operating the stack: metrics every process serves, and logs that follow a request.

A stack of its own, so its serve.log (where 'darkroom serve' and its three children
write) holds only what these tests did.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from darkroom.v1 import media_pb2
from tests.support import media
from tests.support.stack import Stack, start_stack
from tests.support.waiting import wait_until

PHOTO = media.jpeg(320, 240, seed=17)
DELETE = "/darkroom.v1.MediaService/DeleteMedia"
LOG_WAIT_S = 30.0  # Envoy flushes its access log about once a second
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("observed"))
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="module")
def user_key(observed: Stack) -> str:
    return observed.cli("users", "create", "watched").strip().splitlines()[-1]


def _metrics_url(stack: Stack, name: str) -> str:
    urls = stack.ready["metrics"]
    assert isinstance(urls, dict)
    return str(urls[name])


def _scrape(url: str) -> Samples:
    text = httpx.get(url, timeout=10).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _rest_upload(
    stack: Stack, key: str, *, in_query: bool = False, data: bytes = PHOTO
) -> httpx.Response:
    with stack.http() as http:
        if in_query:
            return http.post(
                f"/api/1/upload?key={key}", files={"source": ("q.jpg", data, "image/jpeg")}
            )
        return http.post(
            "/api/1/upload",
            headers={"X-API-Key": key},
            files={"source": ("h.jpg", data, "image/jpeg")},
        )


def test_metrics_move_with_uploads_and_refusals(observed: Stack, user_key: str) -> None:
    server_url, shim_url = _metrics_url(observed, "server"), _metrics_url(observed, "shim")
    server_before, shim_before = _scrape(server_url), _scrape(shim_url)

    for _ in range(2):
        assert _rest_upload(observed, user_key).status_code == 200
    refused_key = _rest_upload(observed, "dr_0_wrong_key_of_nobody")
    assert refused_key.json()["error"]["code"] == 100
    unsupported = _rest_upload(observed, user_key, data=b"just some text, not an image")
    assert unsupported.json()["error"]["code"] == 610

    server, shim = _scrape(server_url), _scrape(shim_url)

    def moved(after: Samples, before: Samples, name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    uploads = "darkroom_uploads_total"
    stored = {"outcome": "200", "reason": "OK", "kind": "image", "format": "jpeg"}
    assert moved(server, server_before, uploads, **stored) == 2
    unreadable = {"outcome": "610", "reason": "SOURCE_INFO_UNREADABLE"}
    assert (
        moved(server, server_before, uploads, **unreadable, kind="unknown", format="unknown") == 1
    )
    stream = {"service": "darkroom.v1.MediaService", "method": "UploadStream"}
    assert moved(
        server, server_before, "darkroom_grpc_requests_total", **stream,
        grpc_code="UNAUTHENTICATED", chevereto_code="100",
    ) == 1  # fmt: skip
    assert (
        moved(server, server_before, "darkroom_grpc_request_duration_seconds_count", **stream) == 4
    )
    for stage in ("spool", "sniff", "probe", "decode", "strip", "variants", "store", "record"):
        assert (
            moved(
                server, server_before, "darkroom_upload_stage_duration_seconds_count", stage=stage
            )
            >= 2
        )
    assert moved(server, server_before, "darkroom_upload_received_bytes_total") >= 2 * len(PHOTO)
    assert moved(server, server_before, "darkroom_upload_stored_bytes_total") > 0
    assert _value(server, "darkroom_worker_queue_depth") == 0
    assert _value(server, "darkroom_workers") >= 1

    api = {"route": "/api/{rest:path}", "method": "POST"}
    requests = "darkroom_shim_requests_total"
    assert moved(shim, shim_before, requests, **api, status="200", chevereto_code="200") == 2
    assert moved(shim, shim_before, requests, **api, status="400", chevereto_code="100") == 1
    assert moved(shim, shim_before, requests, **api, status="400", chevereto_code="610") == 1
    assert (
        moved(shim, shim_before, "darkroom_shim_request_duration_seconds_count", route=api["route"])
        == 4
    )

    envoy = _scrape(_metrics_url(observed, "envoy"))
    rq = "envoy_cluster_upstream_rq_total"
    assert _value(envoy, rq, envoy_cluster_name="darkroom_shim") >= 4
    assert _value(envoy, rq, envoy_cluster_name="darkroom_grpc") >= 1


def _lines(stack: Stack) -> list[dict[str, Any]]:
    text = (stack.data_dir / "serve.log").read_text(errors="replace")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _line(stack: Stack, component: str, seen: int = 0, **fields: object) -> dict[str, Any]:
    """The one line of ``component`` after the first ``seen`` with these fields, once
    written (Envoy flushes its log about once a second)."""
    found: list[dict[str, Any]] = []

    def arrived() -> bool:
        found[:] = [
            line for line in _lines(stack)[seen:]
            if line["component"] == component
            and all(line.get(k) == v for k, v in fields.items())
        ]  # fmt: skip
        return bool(found)

    wait_until(arrived, LOG_WAIT_S, f"a {component} line with {fields}")
    [line] = found
    return line


def test_one_request_id_follows_each_request_and_no_secret_is_logged(
    observed: Stack, user_key: str
) -> None:
    wrong_key = "dr_9_another_key_nobody_has_0123456789"
    delete_tokens = []
    for how in ("header", "query", "wrong key"):
        seen = len(_lines(observed))
        key = wrong_key if how == "wrong key" else user_key
        answer = _rest_upload(observed, key, in_query=how == "query")
        shim = _line(observed, "shim", seen, route="/api/{rest:path}")
        request_id = shim["request_id"]
        server = _line(observed, "server", request_id=request_id)
        assert server["rpc"] == "/darkroom.v1.MediaService/UploadStream"
        envoy = _line(observed, "envoy", request_id=request_id)
        assert envoy["path"] == "/api/1/upload"  # never the query string
        for line in (shim, server):
            assert isinstance(line["duration_ms"], float)
        assert isinstance(envoy["duration_ms"], int)
        if how == "wrong key":
            assert (server["grpc_code"], server["chevereto_code"]) == ("UNAUTHENTICATED", 100)
            assert (shim["status"], shim["chevereto_code"], shim["user_id"]) == (400, 100, None)
            assert server["user_id"] is None
        else:
            delete_tokens.append(str(answer.json()["image"]["delete_url"]).rsplit("/", 1)[-1])
            assert (server["grpc_code"], server["chevereto_code"]) == ("OK", 200)
            assert (shim["status"], shim["grpc_code"], shim["chevereto_code"]) == (200, "OK", 200)
            assert isinstance(server["user_id"], int) and server["caller"] == "user"
            assert shim["user_id"] == server["user_id"]

    # Native gRPC through Envoy: the request id Envoy made reaches the server.
    seen = len(_lines(observed))
    with observed.channel() as channel:
        from darkroom.v1 import media_pb2_grpc

        reply = media_pb2_grpc.MediaServiceStub(channel).Upload(
            media_pb2.UploadRequest(file=PHOTO), metadata=[("x-api-key", user_key)]
        )
    server = _line(observed, "server", seen, rpc="/darkroom.v1.MediaService/Upload")
    envoy = _line(observed, "envoy", request_id=server["request_id"])
    assert envoy["path"] == "/darkroom.v1.MediaService/Upload"
    assert envoy["grpc_status"] == "OK" and isinstance(server["user_id"], int)

    # A delete link carries its token in the path; its lines name the route only.
    seen = len(_lines(observed))
    token = str(reply.media.delete_url).rsplit("/", 1)[-1]
    delete_tokens.append(token)
    delete_path = str(reply.media.delete_url).removeprefix(observed.url.rstrip("/"))
    with observed.http(follow_redirects=False) as http:
        assert http.get(delete_path).status_code == 301
    shim = _line(observed, "shim", seen, route="/image/{id}/delete/{token}")
    envoy = _line(observed, "envoy", request_id=shim["request_id"])
    assert envoy["path"] == "/{route}/{id}/delete/{token}"
    assert _line(observed, "server", request_id=shim["request_id"], rpc=DELETE)

    log = (observed.data_dir / "serve.log").read_text(errors="replace")
    for secret in (user_key, wrong_key, observed.admin_key, *delete_tokens):
        assert secret not in log
