"""Peak shim memory for hostile forms: what the shim holds before the server sees them.

    .venv/bin/python -m bench.form_memory

Starts a fresh stack and sends (a) a multipart form of five 40 MB text fields and no key,
(b) an urlencoded base64 source of about 45 MB, printing the shim's resident-memory
growth and peak for each (sampled every 10 ms) and the answer's Chevereto code.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

from tests.support import media
from tests.support.rss import RssPeak
from tests.support.stack import Stack, start_stack

MiB = 1024 * 1024


def _pieces(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), MiB):
        yield data[start : start + MiB]


def _many_fields() -> Iterator[bytes]:
    for n in range(5):
        yield b'--b\r\nContent-Disposition: form-data; name="field%d"\r\n\r\n' % n
        yield from _pieces(b"x" * (40 * MiB))
        yield b"\r\n"
    yield b"--b--\r\n"


def _measure(stack: Stack, label: str, headers: dict[str, str], body: Iterator[bytes]) -> None:
    with RssPeak({"shim": stack.pid("shim")}) as rss, stack.http() as http:
        reply = http.post("/api/1/upload", headers=headers, content=body)
    code = reply.json().get("error", {}).get("code", reply.status_code)
    print(
        f"{label:<44} answer {code!s:>4}  shim growth {rss.growth('shim') / MiB:7.1f} MiB"
        f"  peak {rss.peak['shim'] / MiB:7.1f} MiB"
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        stack = start_stack(Path(tmp) / "stack")
        try:
            _measure(
                stack, "multipart, 5 x 40 MB text fields, no key",
                {"Content-Type": "multipart/form-data; boundary=b"}, _many_fields(),
            )  # fmt: skip
            payload = media.jpeg(640, 480) + os.urandom(30 * MiB)
            body = urlencode({"key": stack.admin_key, "source": base64.b64encode(payload)})
            _measure(
                stack, f"urlencoded base64 source, {len(body) / 1e6:.0f} MB body",
                {"Content-Type": "application/x-www-form-urlencoded"}, _pieces(body.encode()),
            )  # fmt: skip
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
