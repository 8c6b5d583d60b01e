"""Limits checked on what a file's header claims, before a single pixel is decoded."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain import errors
from server.domain.processing import ImageFacts, VideoFacts

# Chevereto's allow-list of video codecs is implicit (whatever ffmpeg plays); Darkroom
# names the ones browsers play in mp4 / mov / webm.
ALLOWED_VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1"})


@dataclass(frozen=True)
class MediaLimits:
    max_pixels: int
    max_side: int
    max_frames: int
    max_animation_pixels: int
    max_video_duration_s: float
    max_video_side: int
    max_video_frames: int

    def check_image(self, facts: ImageFacts) -> None:
        pixels = facts.width * facts.height
        if facts.width > self.max_side or facts.height > self.max_side:
            raise errors.ImageTooLarge(
                f"Image is {facts.width}x{facts.height}; the largest side allowed is "
                f"{self.max_side} pixels",
                max_side=self.max_side,
            )
        if pixels > self.max_pixels:
            raise errors.ImageTooLarge(
                f"Image has {pixels} pixels; at most {self.max_pixels} are allowed",
                max_pixels=self.max_pixels,
            )
        if facts.frames > self.max_frames:
            raise errors.ImageTooLarge(
                f"Image has {facts.frames} frames; at most {self.max_frames} are allowed",
                max_frames=self.max_frames,
            )
        if facts.frames * pixels > self.max_animation_pixels:
            raise errors.ImageTooLarge(
                "Animation too large to process", max_animation_pixels=self.max_animation_pixels
            )

    def check_video(self, facts: VideoFacts) -> None:
        if not facts.has_video:
            raise errors.InvalidVideo(detail="no video stream")
        if facts.codec not in ALLOWED_VIDEO_CODECS:
            raise errors.VideoCodecNotAllowed(
                f"Unavailable video codec ({facts.codec})", codec=facts.codec
            )
        if facts.duration_s <= 0:
            raise errors.InvalidVideo(detail="no duration")
        if facts.duration_s > self.max_video_duration_s:
            raise errors.VideoTooLarge(
                f"Video lasts {facts.duration_s:.0f} s; at most "
                f"{self.max_video_duration_s:.0f} s are allowed",
                max_duration_s=self.max_video_duration_s,
            )
        if max(facts.width, facts.height) > self.max_video_side:
            raise errors.VideoTooLarge(
                f"Video is {facts.width}x{facts.height}; the largest side allowed is "
                f"{self.max_video_side} pixels",
                max_side=self.max_video_side,
            )
        if facts.frames > self.max_video_frames:
            raise errors.VideoTooLarge(
                f"Video has {facts.frames} frames; at most {self.max_video_frames} are allowed",
                max_frames=self.max_video_frames,
            )
