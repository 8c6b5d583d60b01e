"""Test clips made with PyAV: real encoders, real containers, chosen codecs and metadata."""

from __future__ import annotations

import array
import io
import math
from fractions import Fraction
from typing import cast

import av
from av.video.stream import VideoStream
from PIL import Image, ImageDraw

from tests.support.media import photo_like


def _frame_image(size: tuple[int, int], index: int, base: Image.Image) -> Image.Image:
    """A moving marker over a photo-like background: every frame differs."""
    image = base.copy()
    draw = ImageDraw.Draw(image)
    x = (index * 7) % max(1, size[0] - 40)
    draw.rectangle((x, 10, x + 40, 50), fill=(255, 40, 40))
    # The top-left corner stays red and the top-right blue, to check orientation.
    draw.rectangle((0, 0, size[0] // 8, size[1] // 8), fill=(255, 0, 0))
    draw.rectangle((size[0] - size[0] // 8, 0, size[0], size[1] // 8), fill=(0, 0, 255))
    return image


def clip(
    *,
    container: str = "mp4",
    codec: str = "libx264",
    seconds: float = 2.0,
    size: tuple[int, int] = (640, 360),
    fps: int = 25,
    audio: bool = False,
    rotation: int = 0,
    metadata: dict[str, str] | None = None,
    crf: int = 23,
) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format=container) as target:
        for key, value in (metadata or {}).items():
            target.metadata[key] = value
        stream = cast(VideoStream, target.add_stream(codec, rate=fps))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": str(crf)}
        elif codec == "libx265":
            stream.options = {"preset": "ultrafast", "x265-params": "log-level=error"}
        if rotation:
            stream.set_display_rotation(rotation)
        sound = None
        if audio:
            sound = target.add_stream("libopus" if container == "webm" else "aac", rate=48000)
        base = photo_like(*size, seed=5)
        frames = max(1, math.ceil(seconds * fps))
        for index in range(frames):
            frame = av.VideoFrame.from_image(_frame_image(size, index, base))
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                target.mux(packet)
        for packet in stream.encode():
            target.mux(packet)
        if sound is not None:
            _tone(sound, target, seconds)
    return out.getvalue()


def _tone(
    stream: av.audio.stream.AudioStream, target: av.container.OutputContainer, seconds: float
) -> None:
    rate = 48000
    samples_per_frame = 960
    total = int(seconds * rate)
    layout = "stereo"
    for start in range(0, total, samples_per_frame):
        frame = av.AudioFrame(format="fltp", layout=layout, samples=samples_per_frame)
        value = [
            math.sin(2 * math.pi * 440 * (start + i) / rate) * 0.2 for i in range(samples_per_frame)
        ]
        buffer = array.array("f", value).tobytes()
        for plane in frame.planes:
            plane.update(buffer)
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        for packet in stream.encode(frame):
            target.mux(packet)
    for packet in stream.encode():
        target.mux(packet)


def audio_only() -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as target:
        sound = target.add_stream("aac", rate=48000)
        _tone(sound, target, 1.0)
    return out.getvalue()
