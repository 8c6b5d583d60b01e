"""Test media: real photos from ../shared/media and generated, photo-like images."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

SHARED_MEDIA = Path(
    os.environ.get(
        "DARKROOM_SHARED_MEDIA", Path(__file__).resolve().parents[3] / "shared" / "media"
    )
)
EXIF_SAMPLES = SHARED_MEDIA / "exif-samples"
CORPUS = SHARED_MEDIA / "corpus"


def photo_like(width: int, height: int, seed: int = 1) -> Image.Image:
    """Smooth shapes plus sensor-like noise: compresses like a photo, not like a flat fill."""
    rng = random.Random(seed)
    small = Image.new("RGB", (64, 48))
    small.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(64 * 48)]
    )
    base = small.resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(base)
    for _ in range(12):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(width // 3 + 1), y0 + rng.randrange(height // 3 + 1)
        draw.ellipse(
            (x0, y0, x1, y1), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256))
        )
    base = base.filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise((width, height), 24).convert("RGB")
    return Image.blend(base, noise, 0.12)


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def jpeg(width: int, height: int, seed: int = 1, **params: object) -> bytes:
    return encode(photo_like(width, height, seed), "JPEG", quality=90, **params)


def png_with_alpha(width: int = 640, height: int = 480) -> bytes:
    image = photo_like(width, height).convert("RGBA")
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, width, height), fill=255)
    image.putalpha(mask)
    return encode(image, "PNG")


def animated_frames(count: int = 6, size: tuple[int, int] = (300, 200)) -> list[Image.Image]:
    return [photo_like(*size, seed=seed) for seed in range(count)]


def animated_gif(count: int = 6, size: tuple[int, int] = (300, 200)) -> bytes:
    frames = [
        frame.convert("P", palette=Image.Palette.ADAPTIVE) for frame in animated_frames(count, size)
    ]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)


def animated_webp(count: int = 6, size: tuple[int, int] = (640, 360)) -> bytes:
    frames = animated_frames(count, size)
    return encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=80, loop=0)


def avif(width: int = 800, height: int = 600) -> bytes:
    return encode(photo_like(width, height), "AVIF", quality=60)
