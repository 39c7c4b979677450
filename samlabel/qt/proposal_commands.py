"""The window's proposal commands: "Propose objects", accepting and rejecting proposals.

Owned by :class:`samlabel.qt.main_window.MainWindow` as ``window.proposals``. It connects the
session's proposals (:mod:`samlabel.session.proposals`, which decides everything) to the
window: a background runner, the proposals' own layer on the canvas, progress in the status
bar, and a "Proposals" panel with the score slider. While proposals are shown and no prompt
is being made, Tab steps through them, Enter accepts the highlighted one and Esc rejects the
rest (or cancels a run in flight); with prompts, those keys keep their usual meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QPushButton, QVBoxLayout, QWidget
from superqt import QLabeledDoubleSlider

from samlabel.qt.proposal_layer import ProposalLayer
from samlabel.qt.proposal_runner import QtProposalRunner
from samlabel.qt.review_view import ReviewView

if TYPE_CHECKING:
    from samlabel.qt.main_window import MainWindow


class ProposalCommands:
    """Proposals in the window (``window.proposals``; see the module docstring)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        c = window.controller
        self.session = c.session.proposals
        self.runner = QtProposalRunner(self.session, lambda: c.predictor, window)
        self.session.runner = self.runner
        self.layer = ProposalLayer(window.canvas)
        self._was_running = False
        self._build_panel()
        self.review = ReviewView(window)  # annotations samlabel auto added, to review
        self._unsubscribe = self.session.changed.subscribe(self.refresh)
        self.refresh()

    def _build_panel(self) -> None:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(6, 6, 6, 6)
        self.count_label = QLabel("")
        self.score_slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        self.score_slider.setObjectName("proposalScore")
        self.score_slider.setRange(0.0, 1.0)
        self.score_slider.setValue(0.9)
        self.score_slider.setToolTip("Accept every proposal scored at least this")
        self.accept_button = QPushButton("Accept all above score")
        self.accept_button.setObjectName("acceptProposals")
        self.accept_button.clicked.connect(self.accept_above)
        reject = QPushButton("Reject the rest (Esc)")
        reject.clicked.connect(self.session.reject_rest)
        for widget in (self.count_label, self.score_slider, self.accept_button, reject):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.dock = QDockWidget("Proposals", self.window)
        self.dock.setObjectName("proposalsDock")
        self.dock.setWidget(panel)
        self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()

    def bindings(self) -> dict[str, Callable[[], None]]:
        """Action name -> command."""
        return {
            "propose": self.propose,
            "accept_proposals": self.accept_above,
            "mark_reviewed": self.review.confirm,
        }

    def wrap(self, bindings: dict[str, Callable[[], None]]) -> dict[str, Callable[[], None]]:
        """``bindings`` with Esc and Tab acting on the proposals when they are shown and no
        prompt is being made (Enter: :meth:`accept_highlighted`, from the accept command)."""
        discard, step = bindings["discard"], bindings["next_candidate"]
        s = self.session

        def on_proposals() -> bool:
            return bool(s.visible()) and self.window.controller.prompts.is_empty()

        def escape() -> None:
            if s.is_running() or on_proposals():
                s.reject_rest()
            else:
                discard()

        def next_one() -> None:
            if not (on_proposals() and s.next()):
                step()

        return {
            **bindings,
            **self.bindings(),
            "discard": escape,
            "next_candidate": next_one,
        }

    # -- commands ----------------------------------------------------------------------
    def accept_highlighted(self) -> bool:
        """Accept the highlighted proposal when proposals are shown and no prompt is being
        made, or else confirm the selected annotation to review (Enter); False when Enter
        means the prompt's mask."""
        s = self.session
        if not self.window.controller.prompts.is_empty():
            return False
        if not s.visible():
            return self.review.confirm()  # Enter on an annotation to review confirms it
        return s.accept_current()

    def propose(self) -> None:
        """Propose objects on the current image (P); while running, cancel (P or Esc)."""
        self.session.propose()

    def accept_above(self) -> None:
        """Accept every shown proposal scored at least the slider's value."""
        count = self.session.accept_above(float(self.score_slider.value()))
        if not count:
            self.window.show_message("info", "No proposal scores that high.")

    # -- view --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the layer, the panel and the progress from the session's proposals."""
        s, w = self.session, self.window
        shown = s.visible()
        self.layer.show_proposals(shown, s.current)
        self.count_label.setText(f"{len(shown)} proposals to review" if shown else "")
        self.dock.setVisible(bool(shown) or s.is_running())
        if s.is_running():
            done, total = s.progress
            w.status.show_progress("Proposing objects (Esc cancels)", done / total if total else 0)
        elif self._was_running:
            w.show_embedding_state(w.controller.embedding_status)
        self._was_running = s.is_running()

    def shutdown(self) -> None:
        """Stop listening and stop the runner (the window closes)."""
        self._unsubscribe()
        self.runner.shutdown()
