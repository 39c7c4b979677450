"""File ▸ Export: the open document written as COCO polygons, PNG label masks or YOLO labels.

The exporters live in :mod:`samlabel.io`. An export runs in a background thread on an
immutable snapshot of the document (a dataset of thousands of images takes a while to write),
so the window stays responsive and later edits do not leak into a half-written export; the
result comes back as one sentence naming what was written or why not.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from samlabel.core.document import Document
from samlabel.core.errors import SamlabelError
from samlabel.io.coco import UNREADABLE, save_coco
from samlabel.io.exporters import export_png_masks, export_yolo
from samlabel.qt.background import Lane

log = logging.getLogger(__name__)

#: Export kind -> what the File menu calls it.
EXPORT_KINDS = {
    "coco-polygons": "COCO with polygons",
    "png": "PNG label masks",
    "yolo": "YOLO segmentation labels",
}


def export_document(
    document: Document, foreign: dict | None, kind: str, target: Path
) -> tuple[bool, str, bool]:
    """Export ``document`` into the folder ``target``; returns ``(ok, message, notable)``:
    the message is the export's own summary, and ``notable`` says it reports more than a
    plain success (name clashes resolved, stale annotations skipped), to keep on screen."""
    unreadable = len((foreign or {}).get(UNREADABLE, ()))  # kept verbatim, never decoded
    try:
        if kind == "coco-polygons":
            out = target / "annotations_polygons.json"
            save_coco(document, out, foreign, polygons=True)
            text = f"Exported {len(document.annotations)} annotations to {out}."
            if unreadable:
                text += f" {unreadable} that cannot be read were copied as they are."
            return True, text, bool(unreadable)
        if kind == "png":
            result = export_png_masks(document, target)
        elif kind == "yolo":
            result = export_yolo(document, target)
        else:
            raise ValueError(f"unknown export kind {kind!r}")
    except SamlabelError as error:
        return False, f"Export failed: {error}", True
    except OSError as error:
        return False, f"Export to {target} failed: {error.strerror or error}.", True
    notable = bool(result.renamed or result.stale or result.kept_aside or unreadable)
    text = f"Exported {EXPORT_KINDS[kind]}: {result.summary()}"
    if unreadable:
        text += f" {unreadable} annotations of the file that cannot be read were not exported."
    return True, text, notable


class ExportJob(QObject):
    """One export in a background lane (:mod:`samlabel.qt.background`).

    Signals:
        finished(ok, message): on the GUI thread (queued), once.
    """

    finished = Signal(bool, str)

    def __init__(self, controller, kind: str, target: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.kind = kind
        self.target = Path(target)
        # The snapshot is taken now, on the GUI thread: states are immutable and shared.
        self._document = Document(controller.document.state)
        store = controller.store
        self._foreign = store.store.foreign if store is not None else None
        self.ok: bool | None = None
        self.message = ""
        self.notable = False  # the summary reports clashes or skipped annotations
        self._lane = Lane("samlabel-export", newest_wins=False, parent=self, keep_thread=False)

    def start(self) -> None:
        """Begin writing; ``finished`` follows once."""
        self._lane.submit(self._run, lambda _: None)

    def _run(self) -> None:
        try:
            ok, message, notable = export_document(
                self._document, self._foreign, self.kind, self.target
            )
        except Exception as error:  # a bug must still reach the user as a message
            log.exception("export to %s failed", self.target)
            ok, message, notable = False, f"Export to {self.target} failed: {error}", True
        self.ok, self.message, self.notable = ok, message, notable
        self.finished.emit(ok, message)

    def done(self) -> bool:
        """Whether the export has finished (tests)."""
        return self.ok is not None

    def wait(self, timeout: float = 120.0) -> None:
        """Wait for the export to end (shutdown and tests)."""
        self._lane.wait_until_idle(timeout)
