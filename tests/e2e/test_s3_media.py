"""With storage = s3, `darkroom serve`'s Envoy serves /images/ straight from the bucket
(a real SeaweedFS): as the local route does (type, ranges, nosniff, cache), the same
404 for a missing key, and never a listing or anything outside images/."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import httpx
import pytest
from botocore.config import Config

from tests.support import media
from tests.support.seaweedfs import SeaweedFS, running_seaweedfs, weed_unavailable
from tests.support.stack import Stack, start_stack

PHOTO = media.jpeg(320, 240, seed=31)
BLOB = bytes(range(256))
KEY = "images/2026/12/02/range-test.jpg"
NOT_FOUND = (404, "text/plain", b"Not Found")  # what the local file route answers


@pytest.fixture(scope="module")
def bucket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    if why := weed_unavailable():
        pytest.skip(f"no SeaweedFS: {why}")
    with running_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as s3:
        client = boto3.client(
            "s3", endpoint_url=s3.endpoint, region_name=s3.region,
            aws_access_key_id=s3.access_key_id, aws_secret_access_key=s3.secret_access_key,
            config=Config(s3={"addressing_style": "path"}),
        )  # fmt: skip
        client.put_object(Bucket=s3.bucket, Key=KEY, Body=BLOB, ContentType="image/jpeg")
        client.put_object(
            Bucket=s3.bucket, Key="private/not-media.txt", Body=b"private", ContentType="text/plain"
        )
        yield s3


@pytest.fixture(scope="module")
def stack(bucket: SeaweedFS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("s3-stack"), bucket.darkroom_env())
    yield running
    assert running.stop() == 0


def answer(stack: Stack, path: str, method: str = "GET", **headers: str) -> httpx.Response:
    # Sent as typed: httpx would otherwise tidy "../" away before Envoy sees it.
    with httpx.Client(timeout=30) as http:
        request = http.build_request(method, f"{stack.url.rstrip('/')}{path}", headers=headers)
        request.url = request.url.copy_with(raw_path=path.encode())
        return http.send(request)


def looks_like_a_file(reply: httpx.Response, content_type: str) -> None:
    assert reply.headers["content-type"] == content_type
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["cache-control"] == "public, max-age=31536000"
    assert not [name for name in reply.headers if name.startswith(("x-amz-", "seaweed"))]


def test_an_upload_is_served_from_the_bucket(stack: Stack) -> None:
    with stack.http() as http:
        uploaded = http.post(
            "/api/1/upload",
            headers={"X-API-Key": stack.admin_key},
            files={"source": ("bucket.jpg", PHOTO, "image/jpeg")},
        )
    assert uploaded.status_code == 200, uploaded.text
    url = uploaded.json()["image"]["url"]
    path = "/images/" + url.split("/images/", 1)[1]
    reply = answer(stack, path)
    assert reply.status_code == 200 and reply.content[:3] == b"\xff\xd8\xff"
    looks_like_a_file(reply, "image/jpeg")
    assert not (stack.media_root / path.lstrip("/")).exists()  # nothing of it on disk


def test_a_put_object_reads_whole_and_in_ranges(stack: Stack) -> None:
    whole = answer(stack, f"/{KEY}")
    assert whole.status_code == 200 and whole.content == BLOB
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["etag"]
    looks_like_a_file(whole, "image/jpeg")
    part = answer(stack, f"/{KEY}", range="bytes=10-19")
    assert part.status_code == 206 and part.content == BLOB[10:20]
    assert part.headers["content-range"] == "bytes 10-19/256"
    again = answer(stack, f"/{KEY}", **{"if-none-match": whole.headers["etag"]})
    assert again.status_code == 304
    head = answer(stack, f"/{KEY}", "HEAD")
    assert head.status_code == 200 and head.headers["content-length"] == "256"


def test_a_missing_key_is_the_local_routes_404(stack: Stack) -> None:
    for method in ("GET", "HEAD"):
        reply = answer(stack, "/images/2026/12/02/missing.jpg", method)
        expected_body = NOT_FOUND[2] if method == "GET" else b""
        assert (reply.status_code, reply.headers["content-type"], reply.content) == (
            *NOT_FOUND[:2],
            expected_body,
        )
        assert reply.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/images/",
        "/images/?list-type=2",
        "/images/2026/",
        "/images/2026/12/02/?prefix=images/",
        "/images/../private/not-media.txt",
        "/images/%2e%2e/private/not-media.txt",
        "/images/2026/..%2f..%2fprivate/not-media.txt",
    ],
)
def test_no_listing_and_nothing_outside_images(stack: Stack, path: str) -> None:
    reply = answer(stack, path)
    assert reply.status_code in (400, 404), reply.text[:200]
    assert b"ListBucketResult" not in reply.content and b"private" not in reply.content
    assert KEY.encode() not in reply.content


def test_only_reads_of_an_object_reach_the_bucket(stack: Stack) -> None:
    for method in ("PUT", "DELETE", "POST"):
        assert answer(stack, f"/{KEY}", method).status_code == 404
    assert answer(stack, f"/{KEY}").content == BLOB  # untouched
    # A query cannot change the answer (S3 would honour ?response-content-type).
    rewritten = answer(stack, f"/{KEY}?response-content-type=text/html")
    assert rewritten.status_code == 200 and rewritten.headers["content-type"] == "image/jpeg"


def test_the_bucket_itself_stays_private(stack: Stack, bucket: SeaweedFS) -> None:
    assert bucket.status("GET", f"/{bucket.bucket}/{KEY}", signed=False) == 403
    assert bucket.status("GET", f"/{bucket.bucket}", signed=False) == 403
