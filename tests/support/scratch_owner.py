"""A process that owns scratch as a server does, to be killed with SIGKILL by a test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# A server process as far as scratch goes: on the store its settings (the environment)
# name, it owns its directory, journals and stores the blobs named on its command line
# as an upload would, says where its scratch is, then waits to be killed.
OWNER = """
import asyncio, sys
from server.app import make_blob_store
from server.config import ServerConfig

async def main():
    store = make_blob_store(ServerConfig())
    workdir = store.scratch_dir() / "upload-x"
    workdir.mkdir()
    for key in sys.argv[1:]:
        source = workdir / key.replace("/", "_")
        source.write_bytes(key.encode())
        await store.journal(workdir, key, source)
        await store.put(key, source)
    print(store.scratch_dir(), flush=True)
    sys.stdin.read()

asyncio.run(main())
"""


class Owner:
    def __init__(self, env: Mapping[str, str], *keys: str) -> None:
        """``env``: a server's environment (RunningServer.env), so the same store."""
        self.process = subprocess.Popen(
            [sys.executable, "-c", OWNER, *keys],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=dict(env),
        )  # fmt: skip
        assert self.process.stdout is not None
        self.scratch = Path(self.process.stdout.readline().strip())

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
