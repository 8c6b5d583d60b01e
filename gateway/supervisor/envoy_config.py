"""``darkroom envoy-config``: the Envoy config for servers and shims on other hosts.

Rendered from the same template as ``darkroom serve`` uses, with the descriptor set
embedded, so the file stands alone on the Envoy host. Media must then come from the S3
bucket (storage = s3): a media_root on one host cannot serve the files the other hosts
stored. Envoy signs its bucket reads with the key in its environment
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); no key is written into the file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from gateway.envoy.descriptor import descriptor_set
from gateway.envoy.render import Address, EnvoyPorts, parse_address, render
from gateway.supervisor.layout import s3_media
from server.config import ServerConfig

NEEDS_S3 = (
    "darkroom envoy-config: servers on several hosts need storage = s3 "
    "(DARKROOM_STORAGE=s3 and the DARKROOM_S3_* settings): a local media_root on one host "
    "cannot serve the files the other hosts stored"
)


def _address(text: str) -> Address:
    try:
        return parse_address(text)
    except ValueError as invalid:
        raise argparse.ArgumentTypeError(str(invalid)) from invalid


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="darkroom envoy-config",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--upstream", type=_address, action="append", required=True, metavar="HOST:PORT",
        help="a gRPC server (`darkroom server` with grpc_host reachable from Envoy); "
        "repeat for each. A host name is resolved by DNS, every address it has is used",
    )  # fmt: skip
    parser.add_argument(
        "--shim", type=_address, action="append", required=True, metavar="HOST:PORT",
        help="a Chevereto shim (`python -m gateway.shim --host ADDRESS --grpc-target ...`); "
        "repeat for each",
    )  # fmt: skip
    parser.add_argument(
        "--listen", type=_address, metavar="HOST:PORT",
        help="Envoy's public port (default: the listen_host and listen_port settings)",
    )  # fmt: skip
    parser.add_argument(
        "--admin", type=_address, metavar="HOST:PORT",
        help="Envoy's admin port, keep it private (default: 127.0.0.1, metrics_port + 2)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, help="write the config here instead of stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = ServerConfig()
    except (ValidationError, ValueError, OSError) as invalid:
        print(f"darkroom: invalid settings:\n{invalid}", file=sys.stderr)
        return 2
    s3 = s3_media(config)
    if s3 is None:
        print(NEEDS_S3, file=sys.stderr)
        return 2
    listen = args.listen or Address(config.listen_host, config.listen_port)
    admin = args.admin or Address("127.0.0.1", (config.metrics_port or 9464) + 2)
    text = render(
        EnvoyPorts(listen.host, listen.port, admin.port, args.upstream[0].port, args.shim[0].port),
        descriptor=descriptor_set(),
        s3=s3,
        max_body_bytes=config.max_message_bytes,
        idle_timeout_s=config.http_idle_timeout_s,
        grpc_upstreams=args.upstream,
        shim_upstreams=args.shim,
        admin_host=admin.host,
    )
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    print(
        "darkroom: run it as  AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... "
        "envoy -c FILE --disable-hot-restart  (a read-only key for the bucket is enough)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
