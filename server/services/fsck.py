"""``darkroom fsck``: rows and files checked against each other, and repaired on request.

Safe on a live service: rows are read before files, so a row read names files that
were stored before it; files younger than the grace period are left out, since an
upload in flight stores its files a moment before its row; scratch is only that of
processes that are gone; and each finding is checked again just before it is
reported, so a delete that ran meanwhile is not taken for damage.

What ``--repair`` does, and why:
- a file no row owns is deleted: nothing can reach it;
- a row whose original is gone is removed with whatever files it had left: there is
  nothing to serve and nothing to rebuild the item from;
- a row missing only a derivative (thumb, medium, video frame) keeps its original:
  the missing variant is cleared from its chain, Chevereto's own record of which
  variants exist, so answers stop naming a file that is not there and show the
  original where they would have shown it;
- a dead process's scratch is reclaimed as at start-up: its journaled blobs that no
  row owns are deleted, then its directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from server.domain.ids import IdCodec
from server.domain.media import (
    CHAIN_FRAME,
    CHAIN_MEDIUM,
    CHAIN_THUMB,
    MediaRecord,
    Variant,
    blob_key,
)
from server.ports import BlobStore, MediaRepo, ScratchSpace
from server.services.scratch_reclaim import ScratchReclaimer

PAGE = 1000
DEFAULT_GRACE_S = 600.0
_BIT = {Variant.THUMB: CHAIN_THUMB, Variant.MEDIUM: CHAIN_MEDIUM, Variant.FRAME: CHAIN_FRAME}
_VARIANT_NAME = {Variant.THUMB: "thumb", Variant.MEDIUM: "medium", Variant.FRAME: "frame"}


class Problem(Enum):
    ORPHAN = "orphan_files"
    MISSING_ORIGINAL = "rows_missing_original"
    MISSING_VARIANT = "missing_variants"
    SCRATCH = "leftover_scratch"

    @property
    def title(self) -> str:
        return {
            Problem.ORPHAN: "files no row owns",
            Problem.MISSING_ORIGINAL: "rows whose original file is missing",
            Problem.MISSING_VARIANT: "variants in a row's chain whose file is missing",
            Problem.SCRATCH: "scratch left by processes that are gone",
        }[self]


@dataclass
class Finding:
    problem: Problem
    subject: str  # a blob key, "media <public id>: images/...", or a scratch directory
    repair: str = ""  # what --repair did and why; empty while not repaired
    media_id: int | None = None


@dataclass
class FsckReport:
    rows: int = 0
    files: int = 0
    young_files: int = 0  # left out: younger than the grace period
    live_scratch_owners: int = 0
    grace_s: float = DEFAULT_GRACE_S
    findings: list[Finding] = field(default_factory=list)

    def count(self, problem: Problem) -> int:
        return sum(1 for finding in self.findings if finding.problem is problem)

    @property
    def unrepaired(self) -> int:
        return sum(1 for finding in self.findings if not finding.repair)

    def lines(self) -> list[str]:
        """The report for a person: what was checked, then each kind of problem."""
        out = [
            f"checked {self.rows} media rows and {self.files} files "
            f"({self.young_files} files younger than {self.grace_s:.0f} s left out; "
            f"scratch of {self.live_scratch_owners} live processes left alone)"
        ]
        for problem in Problem:
            found = [finding for finding in self.findings if finding.problem is problem]
            out.append(f"{problem.title}: {len(found)}")
            for finding in found:
                out.append(
                    f"  {finding.subject}" + (f" -> {finding.repair}" if finding.repair else "")
                )
        repaired = len(self.findings) - self.unrepaired
        if not self.findings:
            out.append("no problems found")
        else:
            out.append(
                f"{len(self.findings)} problems found, {repaired} repaired, "
                f"{self.unrepaired} left" + ("" if repaired else " (run with --repair to fix)")
            )
        return out

    def as_dict(self) -> dict[str, object]:
        """The report for scripts (``--json``)."""
        return {
            "rows": self.rows,
            "files": self.files,
            "young_files": self.young_files,
            "grace_s": self.grace_s,
            "live_scratch_owners": self.live_scratch_owners,
            "counts": {problem.value: self.count(problem) for problem in Problem},
            "problems": len(self.findings),
            "unrepaired": self.unrepaired,
            "findings": [
                {
                    "problem": finding.problem.value,
                    "subject": finding.subject,
                    "media_id": finding.media_id,
                    "repaired": bool(finding.repair),
                    "repair": finding.repair,
                }
                for finding in self.findings
            ],
        }


class Fsck:
    def __init__(
        self,
        media: MediaRepo,
        blobs: BlobStore,
        scratch: ScratchSpace,
        reclaimer: ScratchReclaimer,
        ids: IdCodec,
    ) -> None:
        self._ids = ids
        self._media = media
        self._blobs = blobs
        self._scratch = scratch
        self._reclaimer = reclaimer

    async def check(self, *, repair: bool, grace_s: float = DEFAULT_GRACE_S) -> FsckReport:
        report = FsckReport(grace_s=grace_s)
        records = await self._all_records()  # before the files: see the module's doc
        blobs = await self._blobs.listing("images/")
        report.rows, report.files = len(records), len(blobs)
        present = {blob.key for blob in blobs}
        owned = {key for record in records for key in record.blob_keys()}

        for record in records:
            report.findings += await self._check_row(record, present, repair)

        candidates = []
        for blob in blobs:
            if blob.key in owned:
                continue
            if blob.age_s < grace_s:
                report.young_files += 1
            else:
                candidates.append(blob.key)
        owned_now = await self._media.owned_keys(candidates) if candidates else set()
        for key in sorted(set(candidates) - owned_now):
            finding = Finding(Problem.ORPHAN, key)
            if repair:
                await self._blobs.delete(key)
                finding.repair = "deleted: no row names it"
            report.findings.append(finding)

        report.findings += await self._check_scratch(repair)
        report.live_scratch_owners = await self._scratch.live_owners()
        return report

    async def _all_records(self) -> list[MediaRecord]:
        records: list[MediaRecord] = []
        before: int | None = None
        while True:
            page = await self._media.page(limit=PAGE, before_id=before, user_id=None, album_id=None)
            records += page.items
            if page.next_before_id is None:
                return records
            before = page.next_before_id

    async def _check_row(
        self, record: MediaRecord, present: set[str], repair: bool
    ) -> list[Finding]:
        assert record.id is not None
        missing = [
            (variant, key)
            for variant, key in _variant_keys(record)
            if key not in present and not await self._blobs.exists(key)
        ]
        if not missing or await self._media.get(record.id) is None:
            return []  # all there, or deleted since it was read
        original = record.blob_keys()[0]
        name = f"media {self._ids.encode(record.id)}"
        if missing[0][0] is Variant.IMAGE:
            finding = Finding(Problem.MISSING_ORIGINAL, f"{name}: {original}", media_id=record.id)
            if repair:
                await self._media.delete(record.id)
                for key in record.blob_keys():
                    await self._blobs.delete(key)
                finding.repair = "row removed: its original is gone, nothing is left to serve"
            return [finding]
        chain = record.chain
        findings = []
        for variant, key in missing:
            chain &= ~_BIT[variant]
            findings.append(Finding(Problem.MISSING_VARIANT, f"{name}: {key}", media_id=record.id))
        if repair and await self._media.set_chain(record.id, chain):
            for finding, (variant, _) in zip(findings, missing, strict=True):
                finding.repair = (
                    f"row kept, {_VARIANT_NAME[variant]} cleared from its chain: "
                    "the original is still served"
                )
        return findings

    async def _check_scratch(self, repair: bool) -> list[Finding]:
        findings = []
        for leftover in await self._scratch.leftovers():
            finding = Finding(Problem.SCRATCH, leftover.name)
            if repair:
                deleted = await self._reclaimer.reclaim_one(leftover)
                finding.repair = f"reclaimed, with {deleted} blobs it had stored and no row owns"
            else:
                await self._scratch.release(leftover)
            findings.append(finding)
        return findings


def _variant_keys(record: MediaRecord) -> list[tuple[Variant, str]]:
    """The row's files, the original first."""
    keys = []
    for variant in Variant:
        filename = record.variant_filename(variant)
        if filename is not None:
            keys.append((variant, blob_key(record.folder, filename)))
    return keys
