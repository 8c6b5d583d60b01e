"""Typed settings of the server: defaults that run with no configuration at all.

Sources, lowest to highest: defaults, the TOML file named by ``DARKROOM_CONFIG_FILE``,
``DARKROOM_*`` environment variables, then explicit keyword arguments (tests).
These are *process* settings (where things live, limits of the machine). Settings an
admin changes at run time (guest uploads, size limits per key kind) live in the
database and are served by ``AdminService``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class ServerConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DARKROOM_", extra="forbid")

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
        "http://127.0.0.1:8080/",
        description="Base of every public URL in answers (url, url_viewer, delete_url).",
    )
    grpc_host: str = Field("127.0.0.1", description="Address the gRPC server binds.")
    grpc_port: int = Field(50051, description="Port of the gRPC server; 0 picks a free one.")
    port_file: Path | None = Field(
        None, description="If set, the bound gRPC port is written here once serving."
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

    thumb_width: int = 320
    thumb_height: int = 320
    medium_size: int = 500
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
    url_fetch_max_redirects: int = 3
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

    reaper_interval_s: float = Field(30.0, description="How often expired media are deleted.")
    grpc_max_message_mb: int = Field(
        192,
        description="Largest unary gRPC message (Upload): room for a base64 source of the "
        "largest upload; files of any size use UploadStream.",
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
        if not self.public_base_url.endswith("/"):
            self.public_base_url += "/"
        return self

    @property
    def media_dir(self) -> Path:
        assert self.media_root is not None
        return self.media_root

    @property
    def secret_path(self) -> Path:
        assert self.secret_file is not None
        return self.secret_file

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
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)
