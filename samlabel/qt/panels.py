"""The side panels: categories and layers. They show models and emit what the user asked for;
the controller does the work (so every request is one undoable document operation)."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from samlabel.qt.document_models import CategoryListModel, IdRole, LayerListModel


def _tool_button(text: str, tooltip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tooltip)
    button.setObjectName("panelButton")
    return button


#: Shown in the Categories panel while it is empty.
NO_CATEGORIES_HINT = (
    "No categories yet. Add one with +, or accept a mask: it goes under a new category "
    "“object”, which you can rename with a double click."
)


class CategoryPanel(QWidget):
    """List of categories with add / rename / recolour / delete; a hint while it is empty."""

    currentChanged = Signal(int)
    addRequested = Signal()
    recolourRequested = Signal(int)
    deleteRequested = Signal(int)

    def __init__(self, model: CategoryListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        header = QHBoxLayout()
        header.addStretch(1)
        self.add_button = _tool_button("+", "Add a category")
        self.recolour_button = _tool_button("◐", "Change the colour")
        self.rename_button = _tool_button("✎", "Rename (or double click)")
        self.delete_button = _tool_button("✕", "Delete the category and its annotations")
        for button in (
            self.add_button,
            self.rename_button,
            self.recolour_button,
            self.delete_button,
        ):
            header.addWidget(button)
        layout.addLayout(header)
        self.view = QListView()
        self.view.setObjectName("categoryList")
        self.view.setModel(model)
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        layout.addWidget(self.view)
        self.hint = QLabel(NO_CATEGORIES_HINT)
        self.hint.setObjectName("categoryHint")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved):
            signal.connect(self._refresh_hint)
        self._refresh_hint()
        self.add_button.clicked.connect(self.addRequested)
        self.rename_button.clicked.connect(self._rename_current)
        self.recolour_button.clicked.connect(self._emit_for_current(self.recolourRequested))
        self.delete_button.clicked.connect(self._emit_for_current(self.deleteRequested))
        self.view.selectionModel().currentChanged.connect(self._on_current)
        model.modelReset.connect(self._restore_current)
        self._current_id: int | None = None

    def _emit_for_current(self, signal: Signal):
        def emit() -> None:
            if self._current_id is not None:
                signal.emit(self._current_id)

        return emit

    def _refresh_hint(self) -> None:
        self.hint.setVisible(self.model.rowCount() == 0)

    def _rename_current(self) -> None:
        if self._current_id is not None:
            self.rename(self._current_id)

    def rename(self, category_id: int) -> None:
        """Start editing the name of ``category_id`` in the list."""
        row = self.model.row_of(category_id)
        if row >= 0:
            self.view.setFocus()
            self.view.edit(self.model.index(row))

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self._current_id = int(current.data(IdRole))
            self.currentChanged.emit(self._current_id)

    def set_current(self, category_id: int | None) -> None:
        """Highlight ``category_id`` (no signal)."""
        self._current_id = category_id
        self._restore_current()

    def _restore_current(self) -> None:
        row = self.model.row_of(self._current_id) if self._current_id is not None else -1
        selection = self.view.selectionModel()
        blocked = selection.blockSignals(True)
        if row >= 0:
            selection.setCurrentIndex(
                self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
        else:
            selection.clear()
        selection.blockSignals(blocked)


class LayerPanel(QWidget):
    """The current image's annotations: select, hide, recategorise, delete, reorder, zoom."""

    selectionChanged = Signal(object)  # annotation id or None
    deleteRequested = Signal(int)
    moveRequested = Signal(int, int)  # id, +1 = up (towards the top), -1 = down
    zoomRequested = Signal(int)
    categoryRequested = Signal(int, int)  # annotation id, category id

    def __init__(
        self, model: LayerListModel, categories: CategoryListModel, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.model = model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        header = QHBoxLayout()
        header.addStretch(1)
        self.up_button = _tool_button("▲", "Bring forward")
        self.down_button = _tool_button("▼", "Send backward")
        self.delete_button = _tool_button("✕", "Delete the annotation (Del)")
        for button in (self.up_button, self.down_button, self.delete_button):
            header.addWidget(button)
        layout.addLayout(header)
        self.view = QListView()
        self.view.setObjectName("layerList")
        self.view.setModel(model)
        self.view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        layout.addWidget(self.view)
        row = QHBoxLayout()
        row.addWidget(QLabel("Category"))
        self.category_box = QComboBox()
        self.category_box.setModel(categories)
        self.category_box.setToolTip("Category of the selected annotation")
        row.addWidget(self.category_box, 1)
        layout.addLayout(row)
        self._selected: int | None = None
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self.view.doubleClicked.connect(self._on_double_click)
        model.modelReset.connect(self._restore_selection)
        self.up_button.clicked.connect(lambda: self._move(+1))
        self.down_button.clicked.connect(lambda: self._move(-1))
        self.delete_button.clicked.connect(self._delete)
        self.category_box.activated.connect(self._category_chosen)
        self._update_buttons()

    @property
    def selected(self) -> int | None:
        """Id of the selected annotation."""
        return self._selected

    def select(self, annotation_id: int | None) -> None:
        """Select ``annotation_id`` (None clears) and announce it."""
        self._selected = annotation_id
        self._restore_selection()
        self.selectionChanged.emit(annotation_id)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._selected = int(current.data(IdRole)) if current.isValid() else None
        self._update_buttons()
        self.selectionChanged.emit(self._selected)

    def _on_double_click(self, index: QModelIndex) -> None:
        if index.isValid():
            self.zoomRequested.emit(int(index.data(IdRole)))

    def _restore_selection(self) -> None:
        row = self.model.row_of(self._selected) if self._selected is not None else -1
        if row < 0:
            self._selected = None
        selection = self.view.selectionModel()
        blocked = selection.blockSignals(True)
        if row >= 0:
            selection.setCurrentIndex(
                self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
        else:
            selection.clear()
        selection.blockSignals(blocked)
        self._update_buttons()

    def _update_buttons(self) -> None:
        row = self.model.row_of(self._selected) if self._selected is not None else -1
        has = row >= 0
        for button in (self.up_button, self.down_button, self.delete_button):
            button.setEnabled(has)
        self.category_box.setEnabled(has)
        if has:
            category_id = self.model.annotation(row).category_id
            model = self.category_box.model()
            row = model.row_of(category_id) if hasattr(model, "row_of") else -1
            self.category_box.setCurrentIndex(row)

    def _move(self, delta: int) -> None:
        if self._selected is not None:
            self.moveRequested.emit(self._selected, delta)

    def _delete(self) -> None:
        if self._selected is not None:
            self.deleteRequested.emit(self._selected)

    def _category_chosen(self, row: int) -> None:
        if self._selected is None or row < 0:
            return
        category_id = self.category_box.itemData(row, IdRole)
        if category_id is not None:
            self.categoryRequested.emit(self._selected, int(category_id))
