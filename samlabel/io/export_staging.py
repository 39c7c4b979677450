"""Exports written aside and moved into place at the end, so a killed export is recognisable.

An export to folder ``OUT`` is written into ``.<OUT name>.<kind>-<random>.partial`` beside
``OUT`` (same filesystem, so moving is a rename). When complete:

- if ``OUT`` does not exist, the whole staging folder is renamed to ``OUT`` (one atomic
  step: ``OUT`` is absent or complete);
- otherwise each top-level entry of the export (``labels/``, ``data.yaml``, ...) replaces
  the entry of that name in ``OUT``: the previous entry is moved aside first and deleted
  once the new one is in. Other files in ``OUT`` are not touched. A previous entry that no
  earlier samlabel export wrote (``OUT/.samlabel-export.json`` lists those) is kept, renamed
  ``<name>.before-export-<time>``, never deleted.

An export killed half-way leaves ``OUT`` as it was and the ``.partial`` folder beside it,
which the next export of the same folder removes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path

from samlabel.core.errors import AnnotationFileError

PARTIAL_SUFFIX = ".partial"
MANIFEST = ".samlabel-export.json"


def _prefix(out: Path) -> str:
    return f".{out.name}."


def remove_stale_stages(out: Path) -> list[Path]:
    """Delete staging folders that killed exports to ``out`` left beside it."""
    removed = []
    for stale in out.parent.glob(f"{_prefix(out)}*{PARTIAL_SUFFIX}"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
            removed.append(stale)
    return removed


def _read_manifest(out: Path) -> set[str]:
    try:
        entries = json.loads((out / MANIFEST).read_text(encoding="utf-8")).get("entries", [])
        return {str(e) for e in entries}
    except (OSError, ValueError, AttributeError):
        return set()


class StagedExport:
    """Write an export into :attr:`stage`, then :meth:`commit` it into ``out``.

    Use as a context manager: leaving the block without committing (an error) deletes the
    staging folder, so a failed export leaves ``out`` exactly as it was.
    """

    def __init__(self, out: Path, kind: str) -> None:
        self.out = Path(out)
        self.kind = kind
        self.stage = self.out.parent / f"{_prefix(self.out)}{kind}-{uuid.uuid4().hex[:8]}"
        self.stage = self.stage.with_name(self.stage.name + PARTIAL_SUFFIX)
        #: Previous entries kept aside (not from a samlabel export): their new paths.
        self.kept_aside: list[Path] = []
        self._swapping = False

    def __enter__(self) -> StagedExport:
        if self.out.exists() and not self.out.is_dir():
            raise AnnotationFileError(f"{self.out}: exists and is not a folder.", self.out)
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_stages(self.out)
            self.stage.mkdir()
        except OSError as error:
            raise AnnotationFileError(
                f"{self.out}: cannot export here ({error.strerror or error}).", self.out
            ) from None
        return self

    def __exit__(self, exc_type: object, error: BaseException | None, tb: object) -> None:
        if self.stage.exists() and not self._swapping:  # mid-swap it holds the old entries
            shutil.rmtree(self.stage, ignore_errors=True)
        if isinstance(error, OSError):  # a full disk, a vanished folder: a sentence
            raise AnnotationFileError(
                f"{self.out}: the export failed ({error.strerror or error}); nothing in it "
                "was changed.",
                self.out,
            ) from error

    def commit(self) -> None:
        """Move the finished export into ``out`` (see the module docstring)."""
        entries = sorted(p.name for p in self.stage.iterdir())
        ours = _read_manifest(self.out) if self.out.exists() else set()
        manifest = {"entries": sorted(ours | set(entries))}
        (self.stage / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        try:
            if not self.out.exists():
                os.replace(self.stage, self.out)  # one step: absent, then complete
                return
            self._swapping = True
            previous = self.stage / ".previous"
            previous.mkdir()
            stamp = time.strftime("%Y%m%d-%H%M%S")
            for name in [*entries, MANIFEST]:
                target = self.out / name
                if target.exists() or target.is_symlink():
                    if name in ours or name == MANIFEST:
                        os.replace(target, previous / name)
                    else:
                        aside = self.out / f"{name}.before-export-{stamp}"
                        os.replace(target, aside)
                        self.kept_aside.append(aside)
                os.replace(self.stage / name, target)
        except OSError as error:
            raise AnnotationFileError(
                f"{self.out}: the export could not be moved into place "
                f"({error.strerror or error}); the partial export is in {self.stage}.",
                self.out,
            ) from None
        self._swapping = False
        with contextlib.suppress(OSError):
            shutil.rmtree(self.stage)
