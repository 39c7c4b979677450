"""The window's Propagate command: SAM 2 carries a stack's accepted masks through its frames.

Owned by :class:`samlabel.qt.main_window.MainWindow` as ``window.propagation``. It connects
the session's part (:mod:`samlabel.session.propagation`, which decides everything) to the
window: a background runner, the command (Tools ▸ Propagate Through Frames, Ctrl+P, and a
toolbar button) with its direction (forward, backward or both: a toolbar chooser and three
menu entries), progress in the status bar (Esc or Ctrl+P again cancels), beside the frame
slider whether the frame shown holds propagated masks nobody reviewed yet and how many frames
do, and under it a strip with a cell per frame (:mod:`~samlabel.qt.frame_review_strip`).
R confirms the selected mask, or with none selected every unreviewed mask of the frame.

The command is disabled, its tooltip saying why, without a SAM 2 model or outside a stack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QComboBox, QLabel, QToolBar, QToolButton

from samlabel.core.document import Document
from samlabel.core.stack_frames import is_reviewed, unreviewed_frames
from samlabel.qt.assets import icon
from samlabel.qt.frame_review_strip import FrameReviewStrip
from samlabel.qt.propagation_runner import QtPropagationRunner
from samlabel.session.propagation import DIRECTIONS
from samlabel.session.review import unreviewed_ids

if TYPE_CHECKING:
    from samlabel.qt.main_window import MainWindow

#: Menu action of each direction.
DIRECTION_ACTIONS = {
    "forward": "propagate_forward",
    "backward": "propagate_backward",
    "both": "propagate_both",
}
_TIP = "Carry this stack's accepted masks through its frames with SAM 2 (Ctrl+P; Esc cancels)"
_STOP_TIP = "Stop propagating (Esc or Ctrl+P); the frames done so far stay"


class PropagationCommands:
    """Propagation in the window (``window.propagation``; see the module docstring)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        c = window.controller
        self.session = c.session.propagation
        self.runner = QtPropagationRunner(self.session, lambda: c.predictor, window)
        self.session.runner = self.runner
        self.direction_box = QComboBox()
        self.direction_box.setObjectName("propagationDirection")
        self.direction_box.addItems(["Forward", "Backward", "Both ways"])
        self.direction_box.setToolTip("Which way Propagate carries the masks from this frame")
        self.direction_box.activated.connect(lambda i: self.session.set_direction(DIRECTIONS[i]))
        self.marks = QLabel("")
        self.marks.setObjectName("propagationMarks")
        self.marks.setMinimumWidth(1)  # the slider gives way; the window never grows for it
        self.marks.setToolTip(
            "Propagated masks nobody has confirmed yet are drawn dashed, with a hatched fill; "
            "R confirms the selected one (or, with none selected, all of the frame) and it "
            "is drawn solid"
        )
        window.frame_slider.layout().addWidget(self.marks)
        self.strip = FrameReviewStrip()
        layout = window.canvas.parentWidget().layout()  # under the frame slider
        layout.insertWidget(layout.indexOf(window.frame_slider) + 1, self.strip)
        self._was_running = False
        self._unsubscribe = self.session.changed.subscribe(self.refresh)
        for signal in (c.imageChanged, c.documentChanged):
            signal.connect(self.refresh)
        c.embeddingState.connect(self._on_embedding_state)

    def _on_embedding_state(self, _state: str) -> None:
        """The window shows the embedding's state in the status bar, where a run in flight
        shows its progress: show the progress again after it (a frame looked at meanwhile)."""
        if self.session.is_running():
            QTimer.singleShot(0, self.window, self.refresh)

    def bindings(self) -> dict[str, Callable[[], None]]:
        """Action name -> command."""
        commands: dict[str, Callable[[], None]] = {"propagate": self.propagate}
        for direction, name in DIRECTION_ACTIONS.items():
            commands[name] = lambda d=direction: self.session.set_direction(d)
        return commands

    def wrap(self, bindings: dict[str, Callable[[], None]]) -> dict[str, Callable[[], None]]:
        """``bindings`` with Esc cancelling a run in flight and R confirming the frame shown
        when no unreviewed mask is selected."""
        discard = bindings["discard"]

        def escape() -> None:
            if self.session.is_running():
                self.session.cancel()
            else:
                discard()

        def mark_reviewed() -> None:
            if not self.window.proposals.review.confirm():  # the selected one, else the frame
                self.session.mark_frame_reviewed()

        return {**bindings, **self.bindings(), "discard": escape, "mark_reviewed": mark_reviewed}

    def attach(self, actions: dict[str, QAction]) -> None:
        """Group the direction entries (one checked) and show the command's state."""
        self.actions = actions
        self.group = QActionGroup(self.window)
        self.group.setExclusive(True)
        for name in DIRECTION_ACTIONS.values():
            self.group.addAction(actions[name])
        self._labels = (actions["propagate"].text(), actions["propagate"].icon())
        self.refresh()

    def attach_toolbar(self, toolbar: QToolBar) -> None:
        """Name the toolbar's Propagate button beside its icon ("Propagate", "Stop" while a
        run is in flight), so the direction chooser after it reads as its direction."""
        button = toolbar.widgetForAction(self.actions["propagate"])
        if isinstance(button, QToolButton):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.refresh()

    # -- commands ----------------------------------------------------------------------
    def propagate(self) -> None:
        """Propagate from the frame shown (Ctrl+P); while running, cancel."""
        self.session.propagate()

    # -- view --------------------------------------------------------------------------
    def refresh(self) -> None:
        """The command's state, the direction, the progress and the frame marks."""
        s, w = self.session, self.window
        actions = getattr(self, "actions", None)
        if actions is not None:
            self._refresh_action(actions)
        self.direction_box.setCurrentIndex(DIRECTIONS.index(s.direction))
        self.direction_box.setEnabled(not s.is_running())  # it is the next run's direction
        if s.is_running():
            done, total = s.progress
            w.status.show_progress(f"{s.progress_text()} (Esc stops)", done / total if total else 0)
        elif self._was_running:
            w.show_embedding_state(w.controller.embedding_status)
        self._was_running = s.is_running()
        self._refresh_marks()

    def _refresh_action(self, actions: dict[str, QAction]) -> None:
        """Propagate, or Stop while a run is in flight; disabled where it cannot run."""
        s, action = self.session, actions["propagate"]
        running = s.is_running()
        reason = None if running else s.unavailable()
        action.setEnabled(reason is None)
        tip = _STOP_TIP if running else reason or _TIP
        action.setToolTip(tip)
        action.setStatusTip(tip)
        text, normal_icon = self._labels
        action.setText("Stop &Propagating" if running else text)
        action.setIconText("Stop" if running else "Propagate")
        action.setIcon(icon("stop") if running else normal_icon)
        for name in DIRECTION_ACTIONS.values():
            actions[name].setEnabled(not running)
        actions[DIRECTION_ACTIONS[s.direction]].setChecked(True)

    def _refresh_marks(self) -> None:
        """Beside the frame slider: the frame shown is unreviewed, and how many are."""
        c = self.window.controller
        stack = c.session.frames.stack
        self.strip.setVisible(stack is not None)
        if stack is None:
            self.marks.setText("")
            return
        self.strip.set_states(frame_states(c.document, stack.frame_ids), c.session.frames.frame)
        frames = unreviewed_frames(c.document, stack.uri)
        image_id = c.session.image_id
        here = image_id is not None and bool(unreviewed_ids(c.document, image_id))
        parts = ["<b>propagated, unreviewed</b> (dashed; R confirms)"] if here else []
        if frames:
            parts.append(f"{len(frames)} frame{'s' if len(frames) > 1 else ''} to review")
        self.marks.setText(" · ".join(parts))

    def shutdown(self) -> None:
        """Stop listening and stop the runner (the window closes)."""
        self._unsubscribe()
        self.runner.shutdown()


def frame_states(document: Document, frame_ids: tuple[int, ...]) -> list[str]:
    """Per frame: ``"unreviewed"`` when it holds a propagated mask nobody looked at,
    ``"reviewed"`` when it holds masks, else ``"none"``."""
    states = []
    for image_id in frame_ids:
        annotations = document.annotations_for_image(image_id)
        if not annotations:
            states.append("none")
        elif all(is_reviewed(a) for a in annotations):
            states.append("reviewed")
        else:
            states.append("unreviewed")
    return states
