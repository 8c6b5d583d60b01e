"""Callers: what each kind of key may be taken for."""

from __future__ import annotations

from server.domain.caller import Caller, CallerKind


def test_the_local_cli_is_an_admin_without_a_user() -> None:
    cli = Caller.local_admin()
    assert cli.kind is CallerKind.LOCAL_ADMIN
    assert (cli.is_admin, cli.is_guest, cli.user_id, cli.username) == (True, False, None, "")


def test_only_the_guest_kind_is_a_guest_and_only_admins_are_admins() -> None:
    flags = {
        kind: (Caller(kind).is_admin, Caller(kind).is_guest)
        for kind in (CallerKind.GUEST, CallerKind.USER, CallerKind.ADMIN)
    }
    assert flags == {
        CallerKind.GUEST: (False, True),
        CallerKind.USER: (False, False),
        CallerKind.ADMIN: (True, False),
    }
