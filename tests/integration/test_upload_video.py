"""Videos as first-class media: the seed example's shape, stripped metadata, clean refusals."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, cast

import av
import grpc
import pytest

from tests.integration.test_upload_formats import upload
from tests.support import video
from tests.support.server import RunningServer, boot_with_admin, chevereto_error
from tests.support.stored import open_stored, stored_bytes

LOCATION = "+48.8577+002.2950/"


def _first_packets(data: bytes, count: int = 5) -> list[bytes]:
    with av.open(io.BytesIO(data), "r") as container:
        packets = container.demux(container.streams.video[0])
        return [bytes(p) for p in packets if p.size][:count]


def _probe(data: bytes) -> dict[str, Any]:
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.video[0]
        first = next(container.decode(stream))
        return {
            "format": container.format.name,
            "metadata": dict(container.metadata),
            "codec": stream.codec_context.name,
            "rotation": first.rotation,
            "streams": sorted(s.type for s in container.streams),
            "packets": _first_packets(data),
        }


def test_h264_mp4_has_every_video_field_of_the_seed_example(
    server: RunningServer, user_key: str
) -> None:
    data = video.clip(
        seconds=10, size=(1280, 720), metadata={"location": LOCATION, "title": "private"}
    )
    m = upload(server, user_key, data, "Badgers _ animated music video _ MrWeebl.mp4")
    assert m.type == "video"
    assert (m.extension, m.mime, m.name) == (
        "mp4",
        "video/mp4",
        "Badgers-_-animated-music-video-_-MrWeebl",
    )
    assert m.title == "Badgers animated music video MrWeebl"
    assert (m.width, m.height, m.duration, m.duration_time) == (1280, 720, 10, "00:10")
    assert m.chain == 23  # frame | image | medium | thumb
    assert m.frame.extension == "jpeg" and m.frame.mime == "image/jpeg"
    assert m.frame.filename == f"{m.name}.fr.jpeg" and m.url_frame == m.frame.url
    assert m.frame_size == m.frame.size == len(stored_bytes(server, m.frame.url))
    assert m.thumb.filename == f"{m.name}.th.jpeg" and m.medium.filename == f"{m.name}.md.jpeg"
    with open_stored(server, m.frame.url) as frame:
        assert frame.size == (1280, 720)
    with open_stored(server, m.thumb.url) as thumb:
        assert thumb.size == (320, 320) and thumb.format == "JPEG"
    with open_stored(server, m.medium.url) as medium:
        assert medium.size == (500, 281)
    assert re.fullmatch(
        r"http://darkroom\.test/clip/Badgers-animated-music-video-MrWeebl\.\w+", m.url_viewer
    )
    assert m.path_viewer.startswith("/clip/") and m.url_short.startswith(
        "http://darkroom.test/clip/"
    )
    assert "/clip/" in m.delete_url
    assert m.is_animated == 0 and not m.HasField("source_md5")
    # The smaller of medium and frame is displayed, Chevereto's rule.
    assert m.display_url in (m.medium.url, m.frame.url)

    stored = stored_bytes(server, m.url)
    assert len(stored) == m.size
    before, after = _probe(data), _probe(stored)
    assert after["codec"] == "h264" and after["format"].startswith("mov")
    assert "location" not in after["metadata"] and "title" not in after["metadata"]
    assert LOCATION.encode() not in stored and b"private" not in stored
    # Remuxed, not re-encoded: the compressed frames are the same bytes.
    assert after["packets"] == before["packets"]


def test_vp9_webm(server: RunningServer, user_key: str) -> None:
    data = video.clip(container="webm", codec="libvpx-vp9", seconds=2, size=(640, 360))
    m = upload(server, user_key, data, "clip.webm")
    assert (m.extension, m.mime, m.type) == ("webm", "video/webm", "video")
    assert (m.width, m.height, m.duration, m.duration_time) == (640, 360, 2, "00:02")
    assert _probe(stored_bytes(server, m.url))["codec"] == "vp9"


def test_mov_rotation_gives_upright_frame_and_displayed_size(
    server: RunningServer, user_key: str
) -> None:
    data = video.clip(container="mov", rotation=90, size=(640, 360), seconds=2)
    m = upload(server, user_key, data, "phone.mov")
    assert (m.extension, m.mime) == ("mov", "video/quicktime")
    assert (m.width, m.height) == (360, 640)
    with open_stored(server, m.frame.url) as frame:
        assert frame.size == (360, 640)
        rgb = frame.convert("RGB")
        bottom_left = cast(tuple[int, int, int], rgb.getpixel((5, 635)))
        top_left = cast(tuple[int, int, int], rgb.getpixel((5, 5)))
        # Counter-clockwise 90: the red top-left corner lands bottom-left, blue top-left.
        assert bottom_left[0] > 200 and bottom_left[2] < 80
        assert top_left[2] > 200 and top_left[0] < 80
    assert _probe(stored_bytes(server, m.url))["rotation"] == 90


def test_clip_with_audio_keeps_its_sound(server: RunningServer, user_key: str) -> None:
    m = upload(server, user_key, video.clip(audio=True, seconds=2), "sound.mp4")
    assert _probe(stored_bytes(server, m.url))["streams"] == ["audio", "video"]
    assert m.chain == 23


def test_very_short_clip(server: RunningServer, user_key: str) -> None:
    m = upload(server, user_key, video.clip(seconds=0.3, size=(320, 240)), "blink.mp4")
    assert (m.duration, m.duration_time, m.chain) == (1, "00:01", 21)
    assert not m.medium.HasField("url")
    with open_stored(server, m.frame.url) as frame:
        assert frame.size == (320, 240)


def test_hevc_is_accepted(server: RunningServer, user_key: str) -> None:
    m = upload(server, user_key, video.clip(codec="libx265", seconds=1), "hevc.mp4")
    assert m.type == "video"


def _truncated() -> bytes:
    data = video.clip(seconds=2)
    return data[: len(data) // 2]


BAD_VIDEOS = {
    "truncated": (_truncated, 100, "Invalid video file provided"),
    "corrupt": (
        lambda: video.clip(seconds=1)[:32] + bytes(range(256)) * 400,
        100,
        "Invalid video file provided",
    ),
    "audio-only": (video.audio_only, 100, "Invalid video file provided"),
    "mpeg4-part2": (
        lambda: video.clip(codec="mpeg4", seconds=1),
        613,
        "Unavailable video codec (mpeg4)",
    ),
}


@pytest.mark.parametrize("name", list(BAD_VIDEOS))
def test_bad_videos_are_refused_and_nothing_is_left(
    server: RunningServer, user_key: str, name: str
) -> None:
    make, code, message = BAD_VIDEOS[name]
    before = server.stored_files()
    with pytest.raises(grpc.RpcError) as failure:
        upload(server, user_key, make(), f"{name}.mp4")
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert chevereto_error(failure.value) == (code, message)
    assert server.stored_files() == before
    assert server.scratch_files() == []


def test_width_is_ignored_for_video(server: RunningServer, user_key: str) -> None:
    m = upload(server, user_key, video.clip(seconds=1), "w.mp4", width=100)
    assert (m.width, m.height) == (640, 360)


def test_video_limits_are_checked_on_the_header(tmp_path: Path) -> None:
    limited = boot_with_admin(
        tmp_path / "limited", "",
        {"DARKROOM_MAX_VIDEO_DURATION_S": "1.5", "DARKROOM_MAX_VIDEO_SIDE": "1000"},
    )  # fmt: skip
    try:
        for data, message in (
            (video.clip(seconds=3, size=(320, 240)), "at most 2 s are allowed"),
            (video.clip(seconds=1, size=(1280, 720)), "the largest side allowed is 1000"),
        ):
            with pytest.raises(grpc.RpcError) as failure:
                upload(limited, limited.admin_key, data, "long.mp4")
            assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            code, text = chevereto_error(failure.value)
            assert code == 400 and message in text
        assert limited.stored_files() == [] and limited.scratch_files() == []
    finally:
        limited.stop()
