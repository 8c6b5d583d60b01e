"""Benchmark inputs that are expensive to make: a large, valid video written to disk."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av

from tests.support.video import clip


def big_video(path: Path, size_bytes: int) -> Path:
    """A valid H.264 mp4 of at least ``size_bytes``, made by repeating encoded packets.

    Encoding a gigabyte would take minutes; repeating one encoded GOP with shifted
    timestamps builds a real, playable file at disk speed.
    """
    if path.exists() and path.stat().st_size >= size_bytes:
        return path
    # 1080p at a high bitrate (~30 Mbit/s), like a phone's: 1 GB lasts about 5 minutes.
    seed = clip(seconds=2, size=(1920, 1080), codec="libx264", fps=25, crf=8)
    with av.open(io.BytesIO(seed), "r") as source, av.open(str(path), "w", format="mp4") as out:
        stream = source.streams.video[0]
        target = out.add_stream_from_template(stream)
        packets = [p for p in source.demux(stream) if p.dts is not None]
        period = max(p.pts for p in packets if p.pts is not None) + (packets[1].duration or 1)
        written, loop = 0, 0
        while written < size_bytes:
            for packet in packets:
                copy = av.Packet(bytes(packet))
                copy.pts = (packet.pts or 0) + loop * period
                copy.dts = (packet.dts or 0) + loop * period
                copy.duration = packet.duration
                copy.time_base = packet.time_base or Fraction(1, 12800)
                copy.is_keyframe = packet.is_keyframe
                copy.stream = target
                out.mux(copy)
                written += copy.size
            loop += 1
    return path
