"""Where a request's API key comes from: the x-api-key header first, then the field."""

from __future__ import annotations

from typing import Any

import grpc


def api_key(context: grpc.aio.ServicerContext[Any, Any], field_value: str) -> str:
    for name, value in context.invocation_metadata() or ():
        if name == "x-api-key":
            # Chevereto: the header wins whenever it is present, even empty.
            return value if isinstance(value, str) else value.decode()
    return field_value
