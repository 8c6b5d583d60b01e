"""The shim's client over several server replicas, each a real process on its own port:
calls go to replicas whose health says SERVING, one killed replica leaves the others
serving, and a call that was on it fails as Chevereto's 503, never a hang."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import pytest_asyncio

from darkroom.v1 import media_pb2
from gateway.shim.grpc_client import CallFailed, DarkroomClient
from tests.support.waiting import wait_until, wait_until_async

BOUND_S = 30.0  # a liveness bound for a loaded machine, not a speed target


class ReplicaProcess:
    def __init__(self, name: str) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.unit.gateway.fake_replica", name],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())

    def port(self) -> int:
        def announced() -> bool:
            assert self.process.poll() is None, f"replica {self.name} exited"
            return any(line.startswith("port ") for line in self.lines)

        wait_until(announced, BOUND_S, f"replica {self.name} starting")
        return int(next(line for line in self.lines if line.startswith("port ")).split()[1])

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(BOUND_S)

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
        self._reader.join(BOUND_S)
        assert self.process.stdout is not None
        self.process.stdout.close()


async def eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    await wait_until_async(condition, BOUND_S, what)


@pytest.fixture
def replicas() -> Iterator[list[ReplicaProcess]]:
    started = [ReplicaProcess("a"), ReplicaProcess("b")]
    try:
        yield started
    finally:
        for replica in started:
            replica.close()


@pytest_asyncio.fixture
async def client(replicas: list[ReplicaProcess]) -> AsyncIterator[DarkroomClient]:
    # The form `darkroom serve` hands the shim for several replicas.
    target = "ipv4:" + ",".join(f"127.0.0.1:{replica.port()}" for replica in replicas)
    darkroom = DarkroomClient(target, 10.0, 1024 * 1024)
    try:
        yield darkroom
    finally:
        await darkroom.close()


async def answerer(client: DarkroomClient) -> str:
    return (await client.whoami("key")).username


async def both_answer(client: DarkroomClient) -> None:
    seen: set[str] = set()

    async def both_seen() -> bool:
        seen.add(await answerer(client))
        return seen == {"a", "b"}

    await eventually(both_seen, "calls reaching both replicas")


@pytest.mark.asyncio
async def test_calls_are_spread_over_the_replicas(client: DarkroomClient) -> None:
    await both_answer(client)
    answers = [await answerer(client) for _ in range(10)]
    assert set(answers) == {"a", "b"}


@pytest.mark.asyncio
async def test_a_replica_that_is_not_serving_gets_no_new_calls(
    client: DarkroomClient, replicas: list[ReplicaProcess]
) -> None:
    await both_answer(client)
    os.kill(replicas[0].process.pid, signal.SIGUSR1)  # health: NOT_SERVING, as when draining

    async def only_b_answers() -> bool:
        return {await answerer(client) for _ in range(6)} == {"b"}

    await eventually(only_b_answers, "the draining replica taken out")
    assert {await answerer(client) for _ in range(20)} == {"b"}


@pytest.mark.asyncio
async def test_with_one_of_two_replicas_killed_calls_keep_working(
    client: DarkroomClient, replicas: list[ReplicaProcess]
) -> None:
    await both_answer(client)
    replicas[0].kill()
    # Every read after the kill is answered, by the replica that is left: none is lost
    # to the dead one (a read sent before its death was noticed is tried again on b).
    assert [await answerer(client) for _ in range(20)] == ["b"] * 20


@pytest.mark.asyncio
async def test_with_one_of_two_replicas_killed_uploads_keep_working(
    client: DarkroomClient, replicas: list[ReplicaProcess]
) -> None:
    await both_answer(client)
    replicas[0].kill()
    names: list[str] = []
    refused = 0
    for _ in range(20):
        try:
            media = await client.upload(media_pb2.UploadRequest(base64="aGk="), "key")
        except CallFailed as failed:
            # Sent in the moment before the client saw the connection close: an upload is
            # never replayed (the dead replica may have stored it), so the client is told.
            assert (failed.http_status, failed.code) == (503, 503)
            refused += 1
        else:
            names.append(media.name)
    # At most that one: after it the dead replica is out of the rotation.
    assert refused <= 1 and names == ["b"] * (20 - refused)


@pytest.mark.asyncio
async def test_an_upload_in_flight_on_a_killed_replica_fails_as_a_503(
    client: DarkroomClient, replicas: list[ReplicaProcess]
) -> None:
    await both_answer(client)
    never = asyncio.Event()

    async def chunks() -> AsyncIterator[bytes]:
        yield b"first chunk"
        await never.wait()  # the rest never comes: the upload stays in flight
        yield b""

    upload = asyncio.ensure_future(
        client.upload_stream(media_pb2.UploadOptions(filename="x.jpg"), chunks(), lambda: None, "k")
    )

    async def on_a_replica() -> bool:
        return any("upload" in replica.lines for replica in replicas)

    await eventually(on_a_replica, "the upload reaching a replica")
    holder = next(replica for replica in replicas if "upload" in replica.lines)
    holder.kill()
    with pytest.raises(CallFailed) as failed:
        await asyncio.wait_for(upload, BOUND_S)
    assert failed.value.http_status == 503
    assert (failed.value.code, failed.value.message) == (503, "Service unavailable")
    # The other replica still takes calls.
    other = next(replica.name for replica in replicas if replica is not holder)
    assert {await answerer(client) for _ in range(6)} == {other}
