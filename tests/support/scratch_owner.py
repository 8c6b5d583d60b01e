"""A process that owns scratch as a server does, to be killed with SIGKILL by a test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

# A server process as far as scratch goes: it owns its directory, journals and stores
# the blobs named on its command line as an upload would, says where its scratch is,
# then waits to be killed.
OWNER = """
import asyncio, sys
from pathlib import Path
from server.adapters.blob.local import LocalBlobStore

async def main():
    store = LocalBlobStore(Path(sys.argv[1]))
    workdir = store.scratch_dir() / "upload-x"
    workdir.mkdir()
    for key in sys.argv[2:]:
        source = workdir / key.replace("/", "_")
        source.write_bytes(key.encode())
        await store.journal(workdir, key, source)
        await store.put(key, source)
    print(store.scratch_dir(), flush=True)
    sys.stdin.read()

asyncio.run(main())
"""


class Owner:
    def __init__(self, root: Path, *keys: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", OWNER, str(root), *keys],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
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
