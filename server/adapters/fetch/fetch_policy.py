"""What one URL fetch is allowed: its size cap, deadline, redirects and reachable hosts."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FetchPolicy"]


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int
    timeout_s: float = 30.0  # total deadline for the whole fetch incl. redirects
    max_redirects: int = 3
    allow_private: bool = False  # tests and trusted setups only: permits loopback/private targets
    self_hosts: frozenset[str] = frozenset()  # hostnames that are this service itself → refused
    # Hostnames an admin trusts on private networks (an internal asset server): only the
    # exact name is exempt, so a redirect from it to any other private target is refused.
    trusted_hosts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        if not self.timeout_s > 0:
            raise ValueError("timeout_s must be > 0")
        if self.max_redirects < 0:
            raise ValueError("max_redirects must be >= 0")
