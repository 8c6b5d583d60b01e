"""Where bytes of an ISOBMFF file move when item data is cut out and boxes are rewritten.

Interval arithmetic over ``[start, end)`` ranges, and ``OffsetMap``, which turns an
offset into the original file into the same byte's offset in the output.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.errors import InvalidImage

Interval = tuple[int, int]  # [start, end)


def merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(removed: list[Interval], protected: list[Interval]) -> list[Interval]:
    """Parts of ``removed`` not covered by ``protected`` (both merged)."""
    result: list[Interval] = []
    for start, end in removed:
        for p_start, p_end in protected:
            if p_end <= start or p_start >= end:
                continue
            if p_start > start:
                result.append((start, p_start))
            start = max(start, p_end)
            if start >= end:
                break
        if start < end:
            result.append((start, end))
    return result


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    return [(max(s1, s2), min(e1, e2)) for s1, e1 in a for s2, e2 in b if max(s1, s2) < min(e1, e2)]


@dataclass(frozen=True)
class Region:
    start: int
    end: int
    shrink: int
    is_cut: bool  # True: bytes removed; False: a rewritten box whose inside has no stable offsets


class OffsetMap:
    """Where a byte of the original file ends up in the output."""

    def __init__(self, regions: list[Region]) -> None:
        self._regions = sorted(regions, key=lambda region: region.start)

    def __call__(self, pos: int, *, snap: bool = False) -> int:
        delta = 0
        for region in self._regions:
            if pos >= region.end:
                delta += region.shrink
                continue
            inside = region.start <= pos if region.is_cut else region.start < pos
            if inside:
                if not (snap and region.is_cut):
                    raise InvalidImage("item data points into bytes that are removed or rewritten")
                pos = region.start  # a base offset may point into a cut; its extents do not
            break
        return pos - delta


IDENTITY = OffsetMap([])
