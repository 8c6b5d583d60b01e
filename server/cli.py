"""The ``darkroom`` command: run the server, and administer it from the shell.

Admin commands open the configured database directly and call the same
AdminService methods as the AdminService RPCs, so both paths behave alike; this
is also how the first admin (and its key) comes to exist.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable

from server.adapters.malloc_tuning import keep_large_buffers_out_of_the_heap
from server.app import Components, build_services, create_server
from server.config import ServerConfig, effective_settings
from server.domain.caller import Caller
from server.services.fsck import DEFAULT_GRACE_S

log = logging.getLogger("darkroom")


async def _serve(config: ServerConfig) -> None:
    keep_large_buffers_out_of_the_heap()
    app = await create_server(config)
    print(f"darkroom gRPC server on {config.grpc_host}:{app.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping: in-flight calls have %.0f s to finish", config.shutdown_grace_s)
    await app.stop(config.shutdown_grace_s)


async def _with_services(
    config: ServerConfig, action: Callable[[Components], Awaitable[int | None]]
) -> int | None:
    services = await build_services(config)
    try:
        return await action(services)
    finally:
        services.pool.shutdown()
        services.engine.dispose()


def _users_create(args: argparse.Namespace) -> Callable[[Components], Awaitable[None]]:
    async def action(services: Components) -> None:
        user, key = await services.admin.create_user(args.name, is_admin=args.admin)
        role = "admin" if user.is_admin else "user"
        print(f"created {role} {user.username}; API key:")
        print(key)

    return action


def _users_list(args: argparse.Namespace) -> Callable[[Components], Awaitable[None]]:
    async def action(services: Components) -> None:
        for user in await services.admin.users():
            flags = [
                f for f, on in (("admin", user.is_admin), ("disabled", user.is_disabled)) if on
            ]
            print(f"{user.username}\t{services.admin.key_hint(user)}\t{','.join(flags)}")

    return action


def _users_disable(args: argparse.Namespace) -> Callable[[Components], Awaitable[None]]:
    async def action(services: Components) -> None:
        await services.admin.disable_user(args.name)
        print(f"disabled {args.name}")

    return action


def _keys_rotate(args: argparse.Namespace) -> Callable[[Components], Awaitable[None]]:
    async def action(services: Components) -> None:
        key = await services.admin.rotate_key(args.name)
        print(f"new API key of {args.name}; the old one no longer works:")
        print(key)

    return action


def _keys_revoke(args: argparse.Namespace) -> Callable[[Components], Awaitable[None]]:
    async def action(services: Components) -> None:
        await services.admin.revoke_key(args.name)
        print(f"revoked the key of {args.name}")

    return action


def _guest_key(args: argparse.Namespace) -> Callable[[Components], Awaitable[None]]:
    async def action(services: Components) -> None:
        if args.action == "generate":
            print("guest key:")
            print(await services.admin.generate_guest_key())
        elif args.action == "set":
            if not args.key:
                raise SystemExit("darkroom guest-key set KEY")
            await services.admin.set_guest_key(args.key)
            print("guest key set")
        else:
            await services.admin.clear_guest_key()
            print("guest key cleared; guest uploads are refused until a new one is set")

    return action


def _albums_create(args: argparse.Namespace) -> Callable[[Components], Awaitable[None]]:
    async def action(services: Components) -> None:
        album = await services.admin.create_album(
            Caller.local_admin(), args.name, args.description, args.owner
        )
        print(f"created album {album.name!r} of {album.owner}; album_id:")
        print(services.admin.album_id(album))

    return action


def _categories_create(args: argparse.Namespace) -> Callable[[Components], Awaitable[None]]:
    async def action(services: Components) -> None:
        category = await services.admin.create_category(args.name, args.url_key)
        print(f"created category {category.name!r}; category_id:")
        print(category.id)

    return action


def _fsck(args: argparse.Namespace) -> Callable[[Components], Awaitable[int]]:
    async def action(services: Components) -> int:
        report = await services.fsck.check(repair=args.repair, grace_s=args.grace_s)
        if args.json:
            print(json.dumps(report.as_dict(), indent=2))
        else:
            print("\n".join(report.lines()))
        return 1 if report.unrepaired else 0

    return action


def _load_config() -> ServerConfig | None:
    # ValidationError and a TOML syntax error are ValueErrors; a missing file is ours.
    try:
        return ServerConfig()
    except (ValueError, OSError) as invalid:
        print(f"darkroom: invalid settings:\n{invalid}", file=sys.stderr)
        return None


def _print_config(config: ServerConfig, as_json: bool) -> int:
    rows = effective_settings(config)
    if as_json:
        print(json.dumps([dataclasses.asdict(r) for r in rows], default=str, indent=2))
        return 0
    for row in rows:
        print(f"{row.name} = {json.dumps(row.value, default=str)}")
        print(f"    {row.source}; {row.description}" if row.description else f"    {row.source}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="darkroom", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("server", help="run the gRPC server alone")
    config = commands.add_parser(
        "config", help="print every effective setting with its source and description"
    )
    config.add_argument("--json", action="store_true", help="as JSON, for scripts")
    commands.add_parser(
        "serve",
        help="run the whole service: gRPC server, Chevereto shim and Envoy on one port",
        add_help=False,
    )
    commands.add_parser(
        "envoy-config",
        help="print an Envoy config for servers and shims on other hosts (storage = s3)",
        add_help=False,
    )

    users = commands.add_parser("users", help="manage users").add_subparsers(required=True)
    create = users.add_parser("create", help="create a user and print its API key")
    create.add_argument("name")
    create.add_argument("--admin", action="store_true")
    create.set_defaults(make=_users_create)
    users.add_parser("list").set_defaults(make=_users_list)
    disable = users.add_parser("disable")
    disable.add_argument("name")
    disable.set_defaults(make=_users_disable)

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(required=True)
    rotate = keys.add_parser("rotate", help="replace a user's key and print the new one")
    rotate.add_argument("name")
    rotate.set_defaults(make=_keys_rotate)
    revoke = keys.add_parser("revoke")
    revoke.add_argument("name")
    revoke.set_defaults(make=_keys_revoke)

    guest = commands.add_parser("guest-key", help="generate, set or clear the guest key")
    guest.add_argument("action", choices=["generate", "set", "clear"])
    guest.add_argument("key", nargs="?")
    guest.set_defaults(make=_guest_key)

    albums = commands.add_parser("albums", help="manage albums").add_subparsers(required=True)
    album = albums.add_parser("create")
    album.add_argument("name")
    album.add_argument("--owner", required=True)
    album.add_argument("--description", default="")
    album.set_defaults(make=_albums_create)

    fsck = commands.add_parser(
        "fsck",
        help="check media rows against files; exits 1 if problems are left unrepaired",
        description="Report files no row owns, rows whose files are missing, variants "
        "missing from a row's chain and scratch left by dead processes. Safe on a live "
        "service: files younger than the grace period and live processes' scratch are "
        "left out.",
    )
    fsck.add_argument(
        "--repair",
        action="store_true",
        help="delete orphan files and dead scratch; remove rows whose original is gone; "
        "clear missing derivatives from a row's chain",
    )
    fsck.add_argument(
        "--grace-s",
        type=float,
        default=DEFAULT_GRACE_S,
        help="leave out files younger than this, in seconds (uploads in flight; default "
        "%(default).0f)",
    )
    fsck.add_argument("--json", action="store_true", help="as JSON, for scripts")
    fsck.set_defaults(make=_fsck)

    categories = commands.add_parser("categories").add_subparsers(required=True)
    category = categories.add_parser("create")
    category.add_argument("name")
    category.add_argument("--url-key", default="")
    category.set_defaults(make=_categories_create)
    return parser


def main(argv: list[str] | None = None) -> int:
    from server.domain.errors import DarkroomError, RefusedToStart

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        # The supervisor belongs to the gateway, which the server never imports: hand
        # the process over instead, so the two stay apart (see the import contracts).
        os.execv(sys.executable, [sys.executable, "-m", "gateway.supervisor", *argv[1:]])
    if argv[:1] == ["envoy-config"]:
        os.execv(
            sys.executable,
            [sys.executable, "-m", "gateway.supervisor.envoy_config", *argv[1:]],
        )
    args = _parser().parse_args(argv)
    config = _load_config()
    if config is None:
        return 2
    if args.command == "config":
        return _print_config(config, as_json=args.json)
    # The server logs what it does; one-shot admin commands only print their answer.
    level = logging.INFO if args.command == "server" else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        if args.command == "server":
            asyncio.run(_serve(config))
        else:
            return asyncio.run(_with_services(config, args.make(args))) or 0
    except DarkroomError as error:
        print(f"darkroom: {error.message}", file=sys.stderr)
        return 1
    except RefusedToStart as refused:
        print(f"darkroom: {refused}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
