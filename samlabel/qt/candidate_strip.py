"""The candidate picker: SAM's three masks as thumbnails with their scores.

The strip shows the tiles it is given (:func:`samlabel.qt.candidate_tiles.candidate_tiles`
makes them from a prediction): the same crop of the image with one candidate drawn over it,
and its predicted IoU. Clicking a tile, or keys 1/2/3/Tab in the window, chooses.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from samlabel.qt.candidate_tiles import THUMB_SIZE, CandidateTiles


class CandidateStrip(QWidget):
    """Three tiles; ``candidateChosen(index)`` when one is clicked."""

    candidateChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("candidateStrip")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(6)
        self.title = QLabel("Candidates")
        self.title.setObjectName("panelTitle")
        layout.addWidget(self.title)
        self.buttons: list[QToolButton] = []
        self.score_labels: list[QLabel] = []
        for index in range(3):
            column = QVBoxLayout()
            column.setSpacing(2)
            button = QToolButton()
            button.setObjectName("candidateTile")
            button.setCheckable(True)
            button.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
            button.setFixedSize(THUMB_SIZE + 8, THUMB_SIZE + 8)
            button.setToolTip(f"Candidate {index + 1} (key {index + 1})")
            button.clicked.connect(lambda _=False, i=index: self.candidateChosen.emit(i))
            label = QLabel("–")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setObjectName("candidateScore")
            column.addWidget(button)
            column.addWidget(label)
            layout.addLayout(column)
            self.buttons.append(button)
            self.score_labels.append(label)
        layout.addStretch(1)
        self.hint = QLabel(
            "Click: include · Right click / Shift+click: exclude · Drag: box\n"
            "1 2 3 / Tab: choose · Enter / Space: accept · Esc: discard · Ctrl+Z: undo"
        )
        self.hint.setObjectName("candidateHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.hint)
        self.selected = -1
        self.scores: list[float] = []
        self.show_candidates(None, 0)

    def show_candidates(self, tiles: CandidateTiles | None, selected: int) -> None:
        """Show ``tiles`` with tile ``selected`` chosen (None empties the strip)."""
        count = 0 if tiles is None else len(tiles.images)
        self.scores = [] if tiles is None else list(tiles.scores)
        best = -1 if tiles is None else tiles.best
        for index, (button, label) in enumerate(zip(self.buttons, self.score_labels, strict=True)):
            if index < count:
                button.setIcon(QIcon(QPixmap.fromImage(tiles.images[index])))
                button.setEnabled(True)
                star = " ★" if index == best else ""
                label.setText(f"{index + 1} · {self.scores[index]:.2f}{star}")
            else:
                button.setIcon(QIcon())
                button.setEnabled(False)
                label.setText(f"{index + 1} · –")
        self.set_selected(selected if count else -1)

    def set_selected(self, index: int) -> None:
        """Mark tile ``index`` as chosen (-1: none)."""
        self.selected = index
        for i, button in enumerate(self.buttons):
            button.setChecked(i == index)
