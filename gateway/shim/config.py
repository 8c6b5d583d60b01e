"""Settings of the Chevereto shim; the supervisor passes them as DARKROOM_SHIM_* variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ShimConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DARKROOM_SHIM_", extra="ignore")

    grpc_target: str = Field("127.0.0.1:50051", description="The Darkroom gRPC server.")
    host: str = Field("127.0.0.1", description="Address the shim binds (behind Envoy).")
    port: int = Field(8081, description="Port of the shim; 0 picks a free one.")
    image_route: str = Field("image", description="Viewer route of images (as the server's).")
    video_route: str = Field("clip", description="Viewer route of videos (as the server's).")
    max_form_bytes: int = Field(
        200_000_000,
        description="Largest urlencoded or JSON body (base64 sources); files in multipart "
        "bodies stream and are limited by the server instead.",
    )
    call_timeout_s: float = Field(600.0, description="Deadline of one gRPC call.")
