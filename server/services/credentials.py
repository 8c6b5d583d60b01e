"""API keys, the guest key and delete tokens: made random, stored only as keyed hashes.

Why HMAC-SHA256 with a server-side secret and not bcrypt/argon2: every secret here
is long and uniformly random (512 bits for a user key, 192 for a delete token, 256
for a generated guest key), so there is nothing for a slow hash to protect against
guessing; a slow hash would only put ~50 ms of CPU on every authenticated request.
The secret (kept in a file, outside the database) means a leaked database alone does
not even let an attacker test candidate keys. Comparisons are constant-time.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from server.domain.errors import RefusedToStart
from server.domain.ids import IdCodec, row_id
from server.ports import VariableStore

USER_KEY_PREFIX = "chv_"
USER_KEY_RANDOM_HEX = 128
DELETE_TOKEN_HEX = 48
GUEST_KEY_HEX = 64
SECRET_FINGERPRINT_VARIABLE = "secret_fingerprint"
# No NUL byte: ``Credentials.hash`` puts one after every purpose, so no stored key or
# token hash can ever equal the fingerprint.
_FINGERPRINT_LABEL = b"darkroom secret.key fingerprint v1"


class SecretMismatch(RefusedToStart):
    """This process's secret is not the one the database's keys were hashed with."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            "secret.key differs from the one this database was created with: "
            "copy data_dir/secret.key from the first host (docs/deploy.md)"
        )


def load_or_create_secret(path: Path) -> bytes:
    """The hashing secret, created (mode 0600) on first start.

    Written whole to a temporary file, fsynced, then linked into place, so a crash or
    a second process starting at the same moment never sees a half-written secret.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_bytes(32).hex())
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # someone else won: use theirs
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    value = bytes.fromhex(path.read_text().strip())
    if len(value) < 32:
        raise RuntimeError(f"{path} holds no usable secret; restore it from a backup")
    return value


def secret_fingerprint(secret: bytes) -> str:
    """Tells secrets apart without revealing one: an HMAC of a fixed label under it."""
    return hmac.new(secret, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


async def check_secret(variables: VariableStore, secret: bytes, path: Path) -> None:
    """Refuse to run with a secret other than the one this database's keys were made
    with: a replica with its own secret.key would reject every key and delete token.

    The database keeps only a fingerprint, never the secret (a pepper: a stolen
    database must not let anyone test candidate keys). The first start records it,
    as does the first start of a database made before fingerprints existed.
    """
    mine = secret_fingerprint(secret)
    recorded = await variables.get_or_create(SECRET_FINGERPRINT_VARIABLE, mine)
    if not hmac.compare_digest(recorded, mine):
        raise SecretMismatch(path)


class Credentials:
    def __init__(self, key: bytes, ids: IdCodec) -> None:
        self._key = key
        self._ids = ids

    def hash(self, purpose: str, value: str) -> str:
        message = purpose.encode() + b"\x00" + value.encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def matches(self, purpose: str, value: str, stored_hash: str) -> bool:
        return hmac.compare_digest(self.hash(purpose, value), stored_hash)

    # --- user keys: chv_{encoded key row id}_{128 hex}, as Chevereto makes them ---------

    def new_user_key(self, key_id: int) -> tuple[str, str]:
        plaintext = (
            f"{USER_KEY_PREFIX}{self._ids.encode(key_id)}_"
            f"{secrets.token_hex(USER_KEY_RANDOM_HEX // 2)}"
        )
        return plaintext, self.hash("api-key", plaintext)

    def user_key_id(self, key: str) -> int | None:
        """The key row id a user key names, or None when it is not shaped like one."""
        parts = key.split("_")
        if len(parts) != 3 or f"{parts[0]}_" != USER_KEY_PREFIX or not parts[1]:
            return None
        if len(parts[2]) != USER_KEY_RANDOM_HEX:
            return None
        return row_id(self._ids, parts[1])

    def key_hint(self, key_id: int) -> str:
        return f"{USER_KEY_PREFIX}{self._ids.encode(key_id)}_***"

    # --- delete tokens and the guest key ------------------------------------------------

    def new_delete_token(self) -> tuple[str, str]:
        token = secrets.token_hex(DELETE_TOKEN_HEX // 2)
        return token, self.hash("delete-token", token)

    @staticmethod
    def new_guest_key() -> str:
        return secrets.token_hex(GUEST_KEY_HEX // 2)
