"""The candidate picker: SAM's three masks as thumbnails with their scores.

Each tile shows the same crop of the image (around all candidates) with one candidate drawn
over it and its predicted IoU. Clicking a tile, or keys 1/2/3/Tab in the window, chooses.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from samlabel.inference.api import Prediction
from samlabel.qt.overlays import outlined_mask_image, rgb_to_qimage

THUMB_SIZE = 96


def candidates_region(
    prediction: Prediction, margin: float = 0.25
) -> tuple[float, float, float, float]:
    """Square image region ``(x0, y0, x1, y1)`` around all candidates (the whole image if
    they are empty), with ``margin`` of its size added on each side."""
    height, width = prediction.original_size
    logits = prediction.low_res_logits
    in_h, in_w = prediction.input_size
    union = (logits > 0).any(axis=0)
    ys, xs = np.nonzero(union)
    if len(xs) == 0:
        return 0.0, 0.0, float(width), float(height)
    # low-res pixel -> original pixel (the low-res grid is 1/4 of the 1024 frame)
    fx, fy = 4.0 * width / in_w, 4.0 * height / in_h
    x0, x1 = xs.min() * fx, (xs.max() + 1) * fx
    y0, y1 = ys.min() * fy, (ys.max() + 1) * fy
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    side = min(max(side, 16.0), float(max(width, height)))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2


def image_patch(
    rgb: np.ndarray, region: tuple[float, float, float, float], size: int
) -> np.ndarray:
    """``(size, size, 3)`` uint8 of ``rgb`` over ``region`` (outside the image: black)."""
    x0, y0, x1, _y1 = region
    scale = size / max(x1 - x0, 1e-6)
    matrix = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], dtype=np.float64)
    return cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_AREA)


def render_candidate(
    rgb: np.ndarray, prediction: Prediction, index: int, color: QColor, size: int = THUMB_SIZE
) -> QPixmap:
    """A thumbnail of candidate ``index`` over the image crop."""
    region = candidates_region(prediction)
    base = rgb_to_qimage(image_patch(rgb, region, size))
    mask = prediction.mask_logits_for_view(index, (size, size), region) > 0
    pixmap = QPixmap.fromImage(base.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied))
    painter = QPainter(pixmap)
    # Outline baked into the image with numpy: constant cost, however ragged the mask.
    painter.drawImage(0, 0, outlined_mask_image(mask, color, 150))
    painter.end()
    return pixmap


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
        self.show_prediction(None, None, 0)

    def show_prediction(
        self,
        rgb: np.ndarray | None,
        prediction: Prediction | None,
        selected: int,
        color: QColor | None = None,
    ) -> None:
        """Show the candidates of ``prediction`` over ``rgb`` (None empties the strip)."""
        color = color or QColor(64, 156, 255)
        count = 0 if prediction is None else len(prediction.scores)
        self.scores = [] if prediction is None else [float(s) for s in prediction.scores]
        best = -1 if prediction is None else prediction.best_index()
        for index, (button, label) in enumerate(zip(self.buttons, self.score_labels, strict=True)):
            if index < count and rgb is not None and prediction is not None:
                button.setIcon(QIcon(render_candidate(rgb, prediction, index, color)))
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
