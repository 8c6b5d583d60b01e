"""Who is calling: an API key becomes a Caller, in the order Chevereto checks (§2.1)."""

from __future__ import annotations

from server.domain.caller import Caller, CallerKind
from server.domain.errors import (
    InvalidApiKey,
    NoKeyProvided,
    PermissionDenied,
    RequestDenied,
)
from server.ports import KeyRepo, VariableStore
from server.services.credentials import USER_KEY_PREFIX, Credentials

GUEST_KEY_VARIABLE = "guest_key_hash"


class Authenticator:
    def __init__(self, keys: KeyRepo, variables: VariableStore, secrets: Credentials) -> None:
        self._keys = keys
        self._variables = variables
        self._secrets = secrets

    async def caller(self, key: str) -> Caller:
        """The caller a key belongs to; raises the Chevereto error for a bad key."""
        if not key:
            raise NoKeyProvided()
        key_id = self._secrets.user_key_id(key)
        if key_id is not None:
            found = await self._keys.user_for_key(key_id)
            if found is not None and self._secrets.matches("api-key", key, found[1]):
                user = found[0]
                if user.is_disabled:
                    raise RequestDenied()
                kind = CallerKind.ADMIN if user.is_admin else CallerKind.USER
                return Caller(kind, user.id, user.username)
        if key.startswith(USER_KEY_PREFIX):
            # Shaped like a user key: a guest-key message would only confuse.
            raise InvalidApiKey()
        guest_hash = await self._variables.get(GUEST_KEY_VARIABLE)
        # With no guest key set, Chevereto asks the client to set one on a dashboard
        # Darkroom does not have; a wrong key is what the client can act on
        # (docs/chevereto-compatibility.md §11).
        if not guest_hash or not self._secrets.matches("guest-key", key, guest_hash):
            raise InvalidApiKey()
        return Caller(CallerKind.GUEST)

    async def admin(self, key: str) -> Caller:
        caller = await self.caller(key)
        if not caller.is_admin:
            raise PermissionDenied("This needs an admin key")
        return caller

    async def user(self, key: str) -> Caller:
        caller = await self.caller(key)
        if caller.is_guest:
            raise PermissionDenied("This needs a user key")
        return caller
