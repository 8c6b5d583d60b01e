"""Stored files and left-over scratch as the services see them, whatever the store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StoredBlob:
    key: str
    age_s: float  # since it was stored under its key, not since its bytes were written


@dataclass(frozen=True)
class LeftoverScratch:
    """Scratch whose owning process is gone, claimed by the process that listed it.

    ``linked_keys`` are the blobs its uploads had stored that are still the very files
    they stored: a key another upload took since then is not among them.
    """

    name: str  # relative to the scratch root, for reports
    linked_keys: tuple[str, ...]
