"""The SourceFetcher port over the SSRF-safe fetcher, with the configured policy."""

from __future__ import annotations

from typing import BinaryIO
from urllib.parse import urlsplit

from server.adapters.fetch.fetch_policy import FetchPolicy
from server.adapters.fetch.url_fetcher import fetch_to_file
from server.domain.errors import FileTooBig
from server.domain.text import size_formatted
from server.domain.upload import FetchedSource


class SafeSourceFetcher:
    def __init__(
        self,
        *,
        timeout_s: float,
        max_redirects: int,
        allow_private: bool,
        public_base_url: str,
        trusted_hosts: frozenset[str] = frozenset(),
    ) -> None:
        self._timeout_s = timeout_s
        self._max_redirects = max_redirects
        self._allow_private = allow_private
        self._trusted_hosts = trusted_hosts
        own_host = urlsplit(public_base_url).hostname
        self._self_hosts = frozenset({own_host} if own_host else set())

    async def fetch(self, url: str, dest: BinaryIO, max_bytes: int) -> FetchedSource:
        policy = FetchPolicy(
            max_bytes=max_bytes,
            timeout_s=self._timeout_s,
            max_redirects=self._max_redirects,
            allow_private=self._allow_private,
            # Darkroom fetching from itself would loop through its own front door.
            self_hosts=frozenset() if self._allow_private else self._self_hosts,
            trusted_hosts=self._trusted_hosts,
        )
        try:
            # The caller closes `dest` next: no abandoned write may still hold it.
            result = await fetch_to_file(url, dest, policy, settle_dest=True)
        except FileTooBig as exc:
            raise FileTooBig(
                f"File too big - max {size_formatted(max_bytes)}", max_bytes=max_bytes
            ) from exc
        return FetchedSource(filename=result.filename, size=result.size)
