"""Who is asking: the guest key, a user's key, an admin's key, or the local CLI."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CallerKind(enum.Enum):
    GUEST = "guest"
    USER = "user"
    ADMIN = "admin"
    # The shell on the server's own machine: it opened the database directly, so it
    # may do what an admin may, but it is no user and owns nothing.
    LOCAL_ADMIN = "local-admin"


@dataclass(frozen=True)
class Caller:
    """Who an API key belongs to. Guests and the local CLI have no user id."""

    kind: CallerKind
    user_id: int | None = None
    username: str = ""

    @classmethod
    def local_admin(cls) -> Caller:
        return cls(CallerKind.LOCAL_ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.kind in (CallerKind.ADMIN, CallerKind.LOCAL_ADMIN)

    @property
    def is_guest(self) -> bool:
        return self.kind is CallerKind.GUEST
