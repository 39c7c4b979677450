"""The list of models in the model dialog: official ones (installed or not) and custom ones.

One row per :class:`samlabel.inference.ModelEntry`, keyed by the entry's name; the dialog
decides what the buttons do with the selected one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem

from samlabel.inference import ModelEntry
from samlabel.qt.model_downloads import format_bytes

#: Columns of the model list.
COLUMNS = ("Model", "Size", "Status", "Location")


def status_text(entry: ModelEntry) -> str:
    """What the Status column says of a model not in use."""
    if not entry.installed:
        return "Not downloaded" if entry.official else "Missing"
    return "Installed (shared)" if entry.read_only else "Installed"


class ModelList(QTreeWidget):
    """Rows of models; :meth:`fill` them, read :meth:`selected_name`."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("modelList")
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(list(COLUMNS))
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.header()
        header.setStretchLastSection(True)
        for column in range(3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)

    def fill(self, entries: Sequence[ModelEntry], current: Path | None, keep: str | None) -> None:
        """Show ``entries``, ``current`` (the model in use, resolved) marked "In use"; select
        the entry named ``keep``, else the one in use, else the first installed, else the
        first."""
        self.clear()
        chosen: QTreeWidgetItem | None = None
        first_installed: QTreeWidgetItem | None = None
        for entry in entries:
            in_use = current is not None and entry.installed and entry.path.resolve() == current
            status = "In use" if in_use else status_text(entry)
            where = str(entry.path if entry.installed else entry.path.parent)
            item = QTreeWidgetItem([entry.title, format_bytes(entry.size), status, where])
            item.setData(0, Qt.ItemDataRole.UserRole, entry.name)
            item.setToolTip(0, entry.spec.description if entry.spec else str(entry.path))
            item.setToolTip(3, where)
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if not entry.installed:
                for column in range(len(COLUMNS)):
                    item.setForeground(column, Qt.GlobalColor.gray)
            self.addTopLevelItem(item)
            if entry.name == keep or (keep is None and in_use):
                chosen = item
            if entry.installed and first_installed is None:
                first_installed = item
        chosen = chosen or first_installed or self.topLevelItem(0)
        if chosen is not None:
            self.setCurrentItem(chosen)

    def select_name(self, name: str) -> bool:
        """Select the row of the entry called ``name``; False when there is none."""
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == name:
                self.setCurrentItem(item)
                return True
        return False

    def selected_name(self) -> str | None:
        """The name of the selected entry, or None."""
        item = self.currentItem()
        return None if item is None else str(item.data(0, Qt.ItemDataRole.UserRole))
