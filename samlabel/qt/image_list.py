"""The side list of images: name, size, progress mark and number of annotations.

:class:`ImageListModel` is a Qt list model over plain data, testable without a view. Sizes are
read lazily from the file headers (cheap) the first time a row is shown.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QListView, QWidget

from samlabel.core.model import ImageStatus
from samlabel.session.source import image_size

ModelIndex = QModelIndex | QPersistentModelIndex


STATUS_COLORS = {
    ImageStatus.UNLABELLED: QColor(110, 112, 118),
    ImageStatus.IN_PROGRESS: QColor(241, 196, 15),
    ImageStatus.DONE: QColor(46, 204, 113),
}

PathRole = Qt.ItemDataRole.UserRole + 1
StatusRole = Qt.ItemDataRole.UserRole + 2
CountRole = Qt.ItemDataRole.UserRole + 3
#: Why the row's file cannot be read ("" when it can).
BrokenRole = Qt.ItemDataRole.UserRole + 4
BROKEN_COLOR = QColor(231, 76, 60)


def _status_icon(color: QColor) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(color.darker(140))
    painter.setBrush(color)
    painter.drawEllipse(1, 1, 10, 10)
    painter.end()
    return QIcon(pixmap)


def read_image_size(path: Path) -> tuple[int, int] | None:
    """``(W, H)`` from the file header, or None when unreadable."""
    try:
        height, width = image_size(path)
    except Exception:  # a list entry must never fail; opening the image reports the error
        return None
    return width, height


class ImageListModel(QAbstractListModel):
    """Rows of image files with their status and annotation count."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._paths: list[Path] = []
        self._sizes: dict[int, tuple[int, int] | None] = {}
        self._counts: dict[int, int] = {}
        self._status: dict[int, ImageStatus] = {}
        self._frames: dict[int, int] = {}  # row -> frames, for the rows that are stacks
        self._review: dict[int, int] = {}  # stack row -> frames holding unreviewed masks
        self._broken: dict[int, str] = {}
        self._icons = {status: _status_icon(color) for status, color in STATUS_COLORS.items()}
        self._broken_icon = _status_icon(BROKEN_COLOR)

    def set_paths(self, paths: list[Path]) -> None:
        """Replace the rows."""
        self.beginResetModel()
        self._paths = list(paths)
        self._sizes.clear()
        self._counts.clear()
        self._status.clear()
        self._frames.clear()
        self._review.clear()
        self._broken.clear()
        self.endResetModel()

    @property
    def paths(self) -> list[Path]:
        """The image files, in row order."""
        return list(self._paths)

    def path(self, row: int) -> Path:
        """The file of ``row``."""
        return self._paths[row]

    def row_of(self, path: str | Path) -> int:
        """Row of ``path`` or -1."""
        target = Path(path)
        for row, candidate in enumerate(self._paths):
            if candidate == target:
                return row
        return -1

    def set_stack(self, row: int, path: Path, frames: int) -> None:
        """``row`` is a stack of ``frames`` frames now showing frame path ``path``."""
        self._frames[row] = frames
        self._paths[row] = path
        index = self.index(row)
        self.dataChanged.emit(index, index)

    def set_review(self, row: int, frames: int) -> None:
        """``frames`` frames of the stack ``row`` hold masks nobody reviewed (propagated)."""
        if self._review.get(row, 0) != frames:
            self._review[row] = frames
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def set_size(self, row: int, width: int, height: int) -> None:
        """The size of ``row`` when it is already known (saves reading the file's header)."""
        self._sizes[row] = (width, height)

    def set_broken(self, row: int, reason: str) -> None:
        """Mark ``row`` as a file that cannot be read, and why (shown in its tooltip)."""
        self._broken[row] = reason
        self._sizes[row] = None
        index = self.index(row)
        self.dataChanged.emit(index, index)

    def set_progress(self, row: int, count: int, status: ImageStatus) -> None:
        """Set the annotation count and status of ``row``."""
        if self._counts.get(row) == count and self._status.get(row) == status:
            return
        self._counts[row] = count
        self._status[row] = status
        index = self.index(row)
        self.dataChanged.emit(index, index)

    def status(self, row: int) -> ImageStatus:
        """The status of ``row``."""
        return self._status.get(row, ImageStatus.UNLABELLED)

    def count(self, row: int) -> int:
        """Number of annotations on ``row``."""
        return self._counts.get(row, 0)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._paths)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._paths):
            return None
        row = index.row()
        path = self._paths[row]
        if role == Qt.ItemDataRole.DisplayRole:
            if row not in self._sizes:
                self._sizes[row] = read_image_size(path)
            size = self._sizes[row]
            size_text = f"{size[0]}×{size[1]}" if size else "unreadable"
            count = self._counts.get(row, 0)
            noun = "annotation" if count == 1 else "annotations"
            if row in self._frames:  # a stack: its name and frame count, not the frame's
                name, frames = path.name.rpartition("#")[0], self._frames[row]
                if self._review.get(row):  # first, where a narrow list still shows it
                    return f"{name}\n{self._review[row]} of {frames} to review"
                return f"{name}\n{size_text} · {frames} frames · {count} {noun}"
            return f"{path.name}\n{size_text} · {count} {noun}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self._broken_icon if row in self._broken else self._icons[self.status(row)]
        if role == Qt.ItemDataRole.ToolTipRole:
            if row in self._broken:
                return f"{path}\n{self._broken[row]}"
            status = self.status(row).value.replace("_", " ")
            if self._review.get(row):
                status += f"; {self._review[row]} frames hold propagated masks to review"
            return f"{path}\n{status}"
        if role == BrokenRole:
            return self._broken.get(row, "")
        if role == PathRole:
            return str(path)
        if role == StatusRole:
            return self.status(row).value
        if role == CountRole:
            return self._counts.get(row, 0)
        return None


class ImageListView(QListView):
    """The list widget; rows are two lines high."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageList")
        self.setUniformItemSizes(True)
        self.setIconSize(QSize(12, 12))
        self.setSpacing(1)
        self.setSelectionMode(QListView.SelectionMode.SingleSelection)
        # Keys belong to the window's shortcuts (A/D and the arrows move between images).
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
