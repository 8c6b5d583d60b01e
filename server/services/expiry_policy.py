"""When an upload expires: the parameter, the guest override and the global switch."""

from __future__ import annotations

from datetime import datetime

from server.domain.caller import Caller
from server.domain.expiration import resolve_expiration
from server.services.settings import UploadSettings


def expiration_for(
    caller: Caller, requested: str, settings: UploadSettings, now: datetime
) -> datetime | None:
    if not settings.enable_expirable_uploads:
        return None
    if caller.is_guest and settings.auto_delete_guest_uploads:
        # A forced guest expiry overrides whatever the guest asked for (§4).
        return resolve_expiration(settings.auto_delete_guest_uploads, now)
    return resolve_expiration(requested, now)
