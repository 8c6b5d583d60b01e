"""How Envoy serves ``/images/``: from local disk (file_server) or from an S3 bucket.

Each piece is a plain dict that render.py drops into the template as JSON (valid YAML
flow syntax): the media routes, the file_server filter (local only) and the bucket's
cluster (S3 only).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from darkroom.v1.media_types import MIME_OF_EXTENSION

MEDIA_CLUSTER = "darkroom_media"
# Stored files never change (a new upload gets a new name), so a year is safe.
CACHE_CONTROL = "public, max-age=31536000"
# A path segment with at least one character that is not a dot: never "." or "..", so a
# request cannot climb out of images/. Names are made of these characters only
# (server/domain/text.py); a query string is allowed and dropped before S3 sees it.
_SEGMENT = "[A-Za-z0-9._-]*[A-Za-z0-9_-][A-Za-z0-9._-]*"
OBJECT_PATH = f"/images/(?:{_SEGMENT}/)*{_SEGMENT}(?:[?].*)?"
# Where a system keeps its CA bundle, for an https endpoint.
CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")

_FILTER_CONFIG = "type.googleapis.com/envoy.config.route.v3.FilterConfig"
_EXT = "type.googleapis.com/envoy.extensions."

# Per route, in place of the /v1 script. S3 sees only the object's path (no query, which
# could ask for ?acl or override the answer's Content-Type) and only the headers a read
# needs (none of the client's credentials, cookies or x-amz-* headers: the upstream filter
# signs with the service's own key). Answers keep only what a file on disk would have
# (no request ids, owner or object metadata), and a missing or forbidden key reads
# exactly like a missing file on disk: 404 "Not Found" in plain text.
S3_LUA = """
local SENT = {range = true, ["user-agent"] = true, ["x-request-id"] = true,
              ["x-forwarded-for"] = true, ["x-forwarded-proto"] = true}
local KEPT = {["content-type"] = true, ["content-length"] = true, ["content-range"] = true,
              ["accept-ranges"] = true, etag = true, ["last-modified"] = true, date = true,
              server = true}
local ERRORS = {[403] = {"404", "Not Found"}, [404] = {"404", "Not Found"},
                [416] = {"416", "Range Not Satisfiable"}}
local function keep_only(headers, wanted)
  local doomed = {}
  for name, _ in pairs(headers) do
    if name:sub(1, 1) ~= ":" and not wanted(name) then doomed[#doomed + 1] = name end
  end
  for _, name in ipairs(doomed) do headers:remove(name) end
end
function envoy_on_request(handle)
  local headers = handle:headers()
  local path = headers:get(":path"):gsub("[?].*$", "")
  headers:replace(":path", path)
  keep_only(headers, function(name) return SENT[name] or name:sub(1, 3) == "if-" end)
  handle:streamInfo():dynamicMetadata():set("darkroom.media", "method", headers:get(":method"))
end
function envoy_on_response(handle)
  local headers = handle:headers()
  local reply = ERRORS[tonumber(headers:get(":status"))]
  if reply == nil then
    keep_only(headers, function(name) return KEPT[name] end)
    return
  end
  keep_only(headers, function(name)
    return name == "date" or name == "server" or (reply[1] == "416" and name == "content-range")
  end)
  headers:replace(":status", reply[1])
  headers:replace("content-type", "text/plain")
  headers:replace("content-length", tostring(#reply[2]))
  local meta = handle:streamInfo():dynamicMetadata():get("darkroom.media") or {}
  if meta["method"] ~= "HEAD" then
    handle:body(true):setBytes(reply[2])
  end
end
"""


@dataclass(frozen=True)
class S3Media:
    """The bucket that holds the media, as the server's settings name it."""

    endpoint: str  # http(s)://host[:port]
    bucket: str
    region: str = "us-east-1"
    path_style: bool = True

    @property
    def host(self) -> str:
        host = urlsplit(self.endpoint).hostname or ""
        return host if self.path_style else f"{self.bucket}.{host}"

    @property
    def tls(self) -> bool:
        return urlsplit(self.endpoint).scheme == "https"

    @property
    def port(self) -> int:
        return urlsplit(self.endpoint).port or (443 if self.tls else 80)

    @property
    def authority(self) -> str:
        default = 443 if self.tls else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def _disabled(*names: str) -> dict[str, Any]:
    return {name: {"@type": _FILTER_CONFIG, "disabled": True} for name in names}


def _media_headers() -> dict[str, Any]:
    # As on disk: browsers must not sniff an upload into HTML, and caches keep files.
    return {
        "envoy.filters.http.header_mutation": {
            "@type": _EXT + "filters.http.header_mutation.v3.HeaderMutationPerRoute",
            "mutations": {
                "response_mutations": [
                    {
                        "append": {
                            "header": {"key": key, "value": value},
                            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                        }
                    }
                    for key, value in (
                        ("x-content-type-options", "nosniff"),
                        ("cache-control", CACHE_CONTROL),
                    )
                ]
            },
        }
    }


def local_routes() -> list[dict[str, Any]]:
    """The file_server filter answers /images/ from disk before the router runs; the
    route's own 404 is only what a request it does not take would get."""
    return [
        {
            "match": {"prefix": "/images/"},
            "direct_response": {"status": 404},
            "typed_per_filter_config": {
                **_disabled("envoy.filters.http.grpc_json_transcoder", "envoy.filters.http.lua"),
                **_media_headers(),
            },
        }
    ]


def file_server_filters(media_root: Path, file_threads: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "envoy.filters.http.file_server",
            "typed_config": {
                "@type": _EXT + "filters.http.file_server.v3.FileServerConfig",
                "manager_config": {"thread_pool": {"thread_count": file_threads}},
                "path_mappings": [
                    {
                        "request_path_prefix": "/images/",
                        "file_path_prefix": f"{media_root.resolve()}/images/",
                    }
                ],
                "content_types": MIME_OF_EXTENSION,
                "default_content_type": "application/octet-stream",
            },
        }
    ]


def s3_routes(s3: S3Media) -> list[dict[str, Any]]:
    """GET and HEAD of an object's path go to the bucket; anything else under /images/
    (the folder itself, a listing query, another method) is the plain 404."""
    methods = {"name": ":method", "string_match": {"safe_regex": {"regex": "GET|HEAD"}}}
    path = {"name": ":path", "string_match": {"safe_regex": {"regex": OBJECT_PATH}}}
    route: dict[str, Any] = {
        "cluster": MEDIA_CLUSTER,
        "host_rewrite_literal": s3.authority,
        "timeout": "0s",  # a large video may take long; idle streams still time out
        # Reads are idempotent: any failure before the answer started may be retried.
        "retry_policy": {"retry_on": "5xx,reset,connect-failure,refused-stream", "num_retries": 2},
    }
    if s3.path_style:
        route["prefix_rewrite"] = f"/{s3.bucket}/images/"
    return [
        {
            "match": {"prefix": "/images/", "headers": [methods, path]},
            "route": route,
            "typed_per_filter_config": {
                **_disabled("envoy.filters.http.grpc_json_transcoder"),
                "envoy.filters.http.lua": {
                    "@type": _EXT + "filters.http.lua.v3.LuaPerRoute",
                    "source_code": {"inline_string": S3_LUA},
                },
                **_media_headers(),
            },
        },
        {
            "match": {"prefix": "/images/"},
            "direct_response": {"status": 404, "body": {"inline_string": "Not Found"}},
            "typed_per_filter_config": {
                **_disabled("envoy.filters.http.grpc_json_transcoder", "envoy.filters.http.lua"),
                **_media_headers(),
            },
        },
    ]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def s3_clusters(s3: S3Media) -> list[dict[str, Any]]:
    """The bucket's endpoint; every request to it is signed (SigV4) by an upstream filter,
    after the route has rewritten path and host, with the key in Envoy's environment
    (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and nowhere in this file."""
    cluster: dict[str, Any] = {
        "name": MEDIA_CLUSTER,
        "type": "STATIC" if _is_ip(s3.host) else "LOGICAL_DNS",
        "connect_timeout": "2s",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": _EXT + "upstreams.http.v3.HttpProtocolOptions",
                "common_http_protocol_options": {"idle_timeout": "30s"},
                "explicit_http_config": {"http_protocol_options": {}},
                "http_filters": [
                    {
                        "name": "envoy.filters.http.aws_request_signing",
                        "typed_config": {
                            "@type": _EXT + "filters.http.aws_request_signing.v3.AwsRequestSigning",
                            "service_name": "s3",
                            "region": s3.region,
                            "use_unsigned_payload": True,
                            "credential_provider": {
                                "custom_credential_provider_chain": True,
                                "environment_credential_provider": {},
                            },
                        },
                    },
                    {
                        "name": "envoy.filters.http.upstream_codec",
                        "typed_config": {
                            "@type": _EXT + "filters.http.upstream_codec.v3.UpstreamCodec"
                        },
                    },
                ],
            }
        },
        "load_assignment": {
            "cluster_name": MEDIA_CLUSTER,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {
                                    "socket_address": {"address": s3.host, "port_value": s3.port}
                                }
                            }
                        }
                    ]
                }
            ],
        },
    }
    if not _is_ip(s3.host):
        cluster["dns_lookup_family"] = "V4_PREFERRED"
    if s3.tls:
        cluster["transport_socket"] = _tls(s3.host)
    return [cluster]


def _tls(sni: str) -> dict[str, Any]:
    bundle = next((path for path in CA_BUNDLES if Path(path).exists()), None)
    if bundle is None:
        raise RuntimeError(f"an https S3 endpoint needs a CA bundle: none of {CA_BUNDLES}")
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": _EXT + "transport_sockets.tls.v3.UpstreamTlsContext",
            "sni": sni,
            "common_tls_context": {
                "validation_context": {
                    "trusted_ca": {"filename": bundle},
                    "match_typed_subject_alt_names": [
                        {"san_type": "DNS", "matcher": {"exact": sni}}
                    ],
                }
            },
        },
    }
