"""Typed settings of the whole service: defaults that run with no configuration at all.

The one source of process settings: the gRPC server reads it, and ``darkroom serve``
reads it and hands the shim and Envoy explicit values derived from it, so no setting has
a second spelling or a second default. Sources, lowest to highest: defaults, the TOML
file named by ``DARKROOM_CONFIG_FILE``, ``DARKROOM_*`` environment variables, then
explicit keyword arguments (tests). Settings an admin changes at run time (guest uploads,
size limits per key kind) live in the database and are served by ``AdminService``; see
docs/configuration.md.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class ConfigFileError(ValueError):
    """The configuration file named by DARKROOM_CONFIG_FILE cannot be read."""


# Room for the other fields of a form or JSON body around a base64 source.
FORM_OVERHEAD_BYTES = 1024 * 1024


# gRPC lengths are signed 32-bit: a larger base64 source is refused as too big by the shim.
MAX_GRPC_MESSAGE = 2**31 - 1


def base64_length(size: int) -> int:
    return 4 * ((size + 2) // 3)


class ServerConfig(BaseSettings):
    # Errors never echo the inputs: they would print the S3 secret.
    model_config = SettingsConfigDict(
        env_prefix="DARKROOM_", extra="forbid", hide_input_in_errors=True
    )

    data_dir: Path = Field(
        Path("var"), description="Where the SQLite database, media files and secrets live."
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; empty means SQLite in data_dir. "
        "postgresql+psycopg://user@host/db selects PostgreSQL.",
    )
    media_root: Path | None = Field(
        None, description="Root of stored files (images/Y/m/d/...); default data_dir/media."
    )
    public_base_url: str = Field(
        "",
        description="Base of every public URL in answers (url, url_viewer, delete_url); "
        "empty means http://listen_host:listen_port/.",
    )
    listen_host: str = Field("127.0.0.1", description="Address of the one public port (Envoy).")
    listen_port: int = Field(
        8080, description="The one public port of `darkroom serve`; 0 picks a free one."
    )
    http_idle_timeout_s: float = Field(
        65.0,
        gt=0,
        le=86_400,
        description="Envoy closes a client connection idle this long (nginx-like; clients "
        "such as PicGo wait for the server to close keep-alive connections).",
    )
    shutdown_grace_s: float = Field(
        30.0,
        ge=0,
        description="On SIGTERM, how long in-flight calls (uploads) may take to finish "
        "before the server stops anyway.",
    )
    max_upload_mb: int = Field(
        200,
        ge=1,
        description="Largest upload any key may make, in MB (10^6 bytes). The run-time "
        "limits (upload_max_filesize_mb) go up to it, and every message and body limit of "
        "the stack (gRPC, shim, Envoy) derives from it.",
    )
    grpc_host: str = Field("127.0.0.1", description="Address the gRPC server binds.")
    grpc_port: int = Field(50051, description="Port of the gRPC server; 0 picks a free one.")
    port_file: Path | None = Field(
        None, description="If set, the bound gRPC port is written here once serving."
    )
    metrics_port: int = Field(
        9464,
        ge=0,
        le=65_533,
        description="Prometheus metrics, on 127.0.0.1 only: the gRPC server's /metrics on "
        "this port; under `darkroom serve` the shim's /metrics on the next one and Envoy's "
        "admin (/stats/prometheus) on the one after. 0 picks free ports (printed, and in "
        "the ready file).",
    )
    timezone: str = Field("UTC", description="Timezone of `date` in answers and date folders.")
    secret_file: Path | None = Field(
        None,
        description="File with the key that hashes API keys and delete tokens; "
        "created on first start (default data_dir/secret.key).",
    )
    id_salt: str | None = Field(
        None,
        description="Chevereto crypt_salt of the id codec; random and persisted on first "
        "start unless set (set it to keep ids of an imported Chevereto).",
    )
    id_padding: int | None = Field(
        None, description="Chevereto id_padding; 999 on first start unless set."
    )

    image_route: str = Field("image", description="Viewer route of images.")
    video_route: str = Field("clip", description="Viewer route of videos.")
    seo_urls: bool = Field(True, description="Put a slug of the title in url_viewer.")

    thumb_width: int = Field(320, description="Width of the thumb variant (cropped to fill).")
    thumb_height: int = Field(320, description="Height of the thumb variant.")
    medium_size: int = Field(500, description="Longest side of the medium variant.")
    max_image_pixels: int = Field(
        100_000_000, description="Largest width*height accepted (checked before decoding)."
    )
    max_image_side: int = Field(30_000, description="Largest width or height accepted.")
    max_frames: int = Field(
        2_000, description="Most frames an animated image may have (checked before decoding)."
    )
    max_animation_pixels: int = Field(
        120_000_000,
        description="Largest width*height*frames of an animated image: a 100-byte GIF can "
        "claim gigapixels, and every frame is decoded to validate it.",
    )
    max_video_duration_s: float = Field(
        900.0, description="Longest video accepted, in seconds (checked on the header)."
    )
    max_video_side: int = Field(8192, description="Largest video width or height accepted.")
    max_video_frames: int = Field(
        200_000, description="Most frames a video may have (checked on the header)."
    )
    video_deadline_s: float = Field(
        120.0, description="Deadline for probing, grabbing the frame and remuxing one video."
    )
    processing_workers: int = Field(
        0, description="Threads that decode and encode; 0 means one per CPU core."
    )
    processing_timeout_s: float = Field(120.0, description="Deadline of one upload's processing.")

    url_fetch_timeout_s: float = Field(30.0, description="Deadline of a URL source fetch.")
    url_fetch_max_redirects: int = Field(
        3, description="Redirects a URL source may take; each hop is checked again."
    )
    url_fetch_allow_private: bool = Field(
        False,
        description="Allow URL sources on loopback and private networks. Unsafe: only for "
        "tests and closed setups.",
    )

    url_fetch_trusted_hosts: str = Field(
        "",
        description="Comma separated host names that URL sources may fetch from even on a "
        "private network (e.g. an internal asset server). Redirects from them are re-checked.",
    )

    storage: Literal["local", "s3"] = Field(
        "local",
        description="Where media files live: local (files under media_root, served by Envoy "
        "from disk) or s3 (an S3-compatible bucket, served by Envoy from the object store).",
    )
    s3_endpoint: str = Field(
        "", description="S3 endpoint URL, e.g. http://127.0.0.1:8333 (storage = s3)."
    )
    s3_bucket: str = Field("", description="Bucket that holds the media (storage = s3).")
    s3_region: str = Field("us-east-1", description="Region requests are signed for.")
    s3_access_key_id: str = Field(
        "", description="Access key id; empty falls back to AWS_ACCESS_KEY_ID."
    )
    s3_secret_access_key: SecretStr | None = Field(
        None,
        description="Secret access key; unset falls back to s3_secret_access_key_file, "
        "then AWS_SECRET_ACCESS_KEY. Never printed.",
    )
    s3_secret_access_key_file: Path | None = Field(
        None, description="File holding the secret access key (a Docker or systemd secret)."
    )
    s3_path_style: bool = Field(
        True,
        description="Address buckets as endpoint/bucket/key (SeaweedFS, MinIO, Garage) "
        "rather than as bucket.endpoint/key (AWS virtual hosts).",
    )
    s3_multipart_threshold_mb: int = Field(
        16,
        ge=5,
        description="Files larger than this many MiB are sent as a multipart upload in "
        "parts of this size (S3's smallest part is 5 MiB).",
    )
    media_base_url: str = Field(
        "",
        description="Base of media file URLs (url, thumb, medium), e.g. a CDN in front of "
        "the bucket; empty means public_base_url.",
    )
    replicas: int = Field(
        1,
        ge=1,
        le=64,
        description="gRPC server processes `darkroom serve` runs behind its Envoy (all on "
        "one database and store; use PostgreSQL beyond one).",
    )
    reaper_interval_s: float = Field(30.0, description="How often expired media are deleted.")
    scratch_sweep_interval_s: float = Field(
        60.0,
        gt=0,
        description="How often the server reclaims the scratch of server processes that "
        "are gone (it also does at start): their interrupted uploads' files.",
    )

    @model_validator(mode="after")
    def _fill_paths(self) -> ServerConfig:
        self.data_dir = self.data_dir.expanduser()
        if self.media_root is None:
            self.media_root = self.data_dir / "media"
        if self.secret_file is None:
            self.secret_file = self.data_dir / "secret.key"
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'darkroom.db').resolve()}"
        if not self.public_base_url:
            self.public_base_url = f"http://{self.listen_host}:{self.listen_port}/"
        if not self.public_base_url.endswith("/"):
            self.public_base_url += "/"
        if self.media_base_url and not self.media_base_url.endswith("/"):
            self.media_base_url += "/"
        if self.storage == "s3":
            self._fill_s3_credentials()
        return self

    def _fill_s3_credentials(self) -> None:
        if not self.s3_access_key_id:
            self.s3_access_key_id = os.environ.get("AWS_ACCESS_KEY_ID", "")
        if self.s3_secret_access_key is None:
            if self.s3_secret_access_key_file is not None:
                try:
                    secret = self.s3_secret_access_key_file.read_text().strip()
                except OSError as error:
                    raise ValueError(
                        f"s3_secret_access_key_file {self.s3_secret_access_key_file}: "
                        f"{error.strerror}"
                    ) from None
            else:
                secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
            self.s3_secret_access_key = SecretStr(secret) if secret else None
        missing = [
            f"DARKROOM_{name.upper()}"
            for name, value in (
                ("s3_endpoint", self.s3_endpoint),
                ("s3_bucket", self.s3_bucket),
                ("s3_access_key_id", self.s3_access_key_id),
                ("s3_secret_access_key", self.s3_secret_access_key),
            )
            if not value
        ]
        if missing:
            raise ValueError(f"storage = s3 needs {', '.join(missing)}")

    @property
    def s3_secret(self) -> str:
        return self.s3_secret_access_key.get_secret_value() if self.s3_secret_access_key else ""

    @property
    def media_dir(self) -> Path:
        assert self.media_root is not None
        return self.media_root

    @property
    def secret_path(self) -> Path:
        assert self.secret_file is not None
        return self.secret_file

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1000 * 1000  # decimal MB, as Chevereto counts

    @property
    def max_message_bytes(self) -> int:
        """Largest single message or buffered body any hop must carry.

        Files stream in chunks at any size; only a base64 source travels whole (a unary
        Upload, a urlencoded or JSON body, a /v1 JSON body), a third bigger than the file.
        """
        return min(base64_length(self.max_upload_bytes) + FORM_OVERHEAD_BYTES, MAX_GRPC_MESSAGE)

    @property
    def spool_dir(self) -> Path:
        """Where the shim spools what it must hold on disk (under data_dir, not /tmp)."""
        return self.data_dir / "spool"

    @property
    def workers(self) -> int:
        return self.processing_workers or os.cpu_count() or 2

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("DARKROOM_CONFIG_FILE")
        if config_file:
            # pydantic-settings skips a missing file; a named one that is not there is a
            # mistake to report, not a reason to run on the defaults.
            if not Path(config_file).is_file():
                raise ConfigFileError(f"DARKROOM_CONFIG_FILE={config_file}: no such file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


@dataclass(frozen=True)
class EffectiveSetting:
    name: str
    value: object
    source: str
    description: str


# Filled from other settings when left empty; the report says so instead of "default".
DERIVED = {
    "media_root": "data_dir/media",
    "secret_file": "data_dir/secret.key",
    "database_url": "SQLite in data_dir",
    "public_base_url": "listen_host and listen_port",
}
# Filled from the usual AWS variables (or the secret file) when left empty.
AWS_FALLBACK = {
    "s3_access_key_id": "environment AWS_ACCESS_KEY_ID",
    "s3_secret_access_key": "s3_secret_access_key_file or environment AWS_SECRET_ACCESS_KEY",
}
# Shown as set or not, never as a value.
SECRET = frozenset({"s3_secret_access_key"})


def effective_settings(config: ServerConfig) -> list[EffectiveSetting]:
    """Every process setting: its value, where it came from, and what it is for."""
    config_file = os.environ.get("DARKROOM_CONFIG_FILE")
    from_file: dict[str, object] = {}
    if config_file:
        with open(config_file, "rb") as handle:
            from_file = tomllib.load(handle)
    environment = {k.upper() for k in os.environ}
    rows = []
    for name, field in ServerConfig.model_fields.items():
        variable = f"DARKROOM_{name.upper()}"
        if variable in environment:
            source = f"environment {variable}"
        elif name in from_file:
            source = f"file {config_file}"
        elif name in DERIVED:
            source = f"derived ({DERIVED[name]})"
        elif name in AWS_FALLBACK and getattr(config, name):
            source = AWS_FALLBACK[name]
        else:
            source = "default"
        value = getattr(config, name)
        if name in SECRET:
            value = "(set)" if value else "(not set)"
        rows.append(EffectiveSetting(name, value, source, field.description or ""))
    return rows
