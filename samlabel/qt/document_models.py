"""Qt item models over the pure-Python annotation document (as napari's _base_item_model).

:class:`DocumentBridge` turns the document's change callbacks into a Qt signal.
:class:`CategoryListModel` lists the categories (name editable in place = rename);
:class:`LayerListModel` lists the annotations of the current image, top of the drawing order
first, with a visibility check box. Both are usable without a view, so tests need no widget.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from samlabel.core.document import Document
from samlabel.core.model import Annotation, Category
from samlabel.core.state import DocumentChanged
from samlabel.session.review import is_unreviewed

ModelIndex = QModelIndex | QPersistentModelIndex
IdRole = Qt.ItemDataRole.UserRole + 10
ColorRole = Qt.ItemDataRole.UserRole + 11


def swatch(color: str | QColor, size: int = 14) -> QIcon:
    """A rounded colour square for list rows."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    qcolor = QColor(color)
    painter.setPen(qcolor.darker(150))
    painter.setBrush(qcolor)
    painter.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    painter.end()
    return QIcon(pixmap)


class DocumentBridge(QObject):
    """Re-emits the document's change events as ``changed(DocumentChanged)``."""

    changed = Signal(object)

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._unsubscribe = document.subscribe(self.changed.emit)

    def set_document(self, document: Document) -> None:
        """Follow ``document`` instead; models reload (a ``"reset"`` event is emitted)."""
        self._unsubscribe()
        self.document = document
        self._unsubscribe = document.subscribe(self.changed.emit)
        self.changed.emit(
            DocumentChanged("reset", "Open", categories_changed=True, images_changed=True)
        )

    def detach(self) -> None:
        """Stop listening to the document."""
        self._unsubscribe()


class CategoryListModel(QAbstractListModel):
    """The document's categories in their order; editing a name renames the category."""

    def __init__(self, bridge: DocumentBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._categories: tuple[Category, ...] = bridge.document.categories
        bridge.changed.connect(self._on_changed)

    def _on_changed(self, event: DocumentChanged) -> None:
        if event.categories_changed or event.reason == "reset":
            self.beginResetModel()
            self._categories = self._bridge.document.categories
            self.endResetModel()

    def category(self, row: int) -> Category:
        """The category of ``row``."""
        return self._categories[row]

    def row_of(self, category_id: int) -> int:
        """Row of the category ``category_id`` or -1."""
        for row, category in enumerate(self._categories):
            if category.id == category_id:
                return row
        return -1

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._categories)

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() else base

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._categories):
            return None
        category = self._categories[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return category.name
        if role == Qt.ItemDataRole.DecorationRole:
            return swatch(category.color)
        if role == IdRole:
            return category.id
        if role == ColorRole:
            return category.color
        if role == Qt.ItemDataRole.ToolTipRole:
            shortcut = f" (Ctrl+{index.row() + 1})" if index.row() < 9 else ""
            return f"{category.name}{shortcut}"
        return None

    def setData(
        self, index: ModelIndex, value: object, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        category = self._categories[index.row()]
        name = str(value).strip()
        if not name or name == category.name:
            return False
        try:
            self._bridge.document.rename_category(category.id, name)
        except ValueError:
            return False
        return True


class LayerListModel(QAbstractListModel):
    """Annotations of one image, topmost first; the check box is the (view-only) visibility."""

    def __init__(self, bridge: DocumentBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._image_id: int | None = None
        self._rows: tuple[Annotation, ...] = ()
        self.hidden: set[int] = set()
        bridge.changed.connect(self._on_changed)

    def set_image(self, image_id: int | None) -> None:
        """Show the annotations of ``image_id`` (None: none)."""
        self._image_id = image_id
        self.hidden.clear()
        self._reload()

    @property
    def image_id(self) -> int | None:
        """The image listed."""
        return self._image_id

    def _reload(self) -> None:
        self.beginResetModel()
        document = self._bridge.document
        if self._image_id is None:
            self._rows = ()
        else:
            self._rows = tuple(reversed(document.annotations_for_image(self._image_id)))
        self.endResetModel()

    def _on_changed(self, event: DocumentChanged) -> None:
        if (
            event.reason == "reset"
            or event.categories_changed
            or (self._image_id is not None and self._image_id in event.image_ids)
        ):
            self._reload()

    def annotation(self, row: int) -> Annotation:
        """The annotation of ``row`` (row 0 = drawn on top)."""
        return self._rows[row]

    def row_of(self, annotation_id: int) -> int:
        """Row of ``annotation_id`` or -1."""
        for row, annotation in enumerate(self._rows):
            if annotation.id == annotation_id:
                return row
        return -1

    def annotation_ids(self) -> list[int]:
        """Ids in row order (topmost first)."""
        return [annotation.id for annotation in self._rows]

    def is_visible(self, annotation_id: int) -> bool:
        """Whether the canvas draws ``annotation_id``."""
        return annotation_id not in self.hidden

    def set_visible(self, annotation_id: int, visible: bool) -> None:
        """Show or hide ``annotation_id`` on the canvas."""
        if visible:
            self.hidden.discard(annotation_id)
        else:
            self.hidden.add(annotation_id)
        row = self.row_of(annotation_id)
        if row >= 0:
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsUserCheckable if index.isValid() else base

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        annotation = self._rows[index.row()]
        document = self._bridge.document
        try:
            category = document.category(annotation.category_id)
        except KeyError:
            category = None
        if role == Qt.ItemDataRole.DisplayRole:
            name = category.name if category else "?"
            score = f" · IoU {annotation.score:.2f}" if annotation.score is not None else ""
            review = " · to review" if is_unreviewed(annotation) else ""
            return f"#{annotation.id} {name}{review}\n{annotation.area:,} px{score}"
        if role == Qt.ItemDataRole.DecorationRole:
            return swatch(category.color if category else "#808080")
        if role == Qt.ItemDataRole.CheckStateRole:
            visible = annotation.id not in self.hidden
            return Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked
        if role == IdRole:
            return annotation.id
        return None

    def setData(
        self, index: ModelIndex, value: object, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or not index.isValid():
            return False
        checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, 2)
        self.set_visible(self._rows[index.row()].id, checked)
        return True
