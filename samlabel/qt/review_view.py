"""Annotations to review in the layer panel: a "show only unreviewed" filter and confirming.

Proposals ``samlabel auto`` added (:mod:`samlabel.session.review`) read "to review" in the
layer list (its model does that); this adds a check box above the list that hides the
reviewed rows, with the count still to review on the image, and the confirm command (R, or
Enter with such an annotation selected and nothing else to accept).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QCheckBox

from samlabel.session.review import is_unreviewed

if TYPE_CHECKING:
    from samlabel.qt.main_window import MainWindow


class ReviewView:
    """The layer panel's review filter and the confirm command (``window.proposals.review``)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        panel = window.layer_panel
        self.only_unreviewed = QCheckBox("Show only unreviewed")
        self.only_unreviewed.setObjectName("onlyUnreviewed")
        self.only_unreviewed.setToolTip(
            "List only the proposals samlabel auto added and the masks propagated through "
            "a stack, not yet confirmed (drawn dashed on the canvas; R confirms)"
        )
        panel.layout().insertWidget(0, self.only_unreviewed)
        self.only_unreviewed.toggled.connect(self.apply)
        model = panel.model
        model.modelReset.connect(self.apply)
        model.dataChanged.connect(lambda *_: self.apply())
        self.apply()

    def apply(self) -> None:
        """Hide the reviewed rows when the filter is on; count those to review."""
        panel = self.window.layer_panel
        model = panel.model
        only = self.only_unreviewed.isChecked()
        to_review = 0
        for row in range(model.rowCount()):
            unreviewed = is_unreviewed(model.annotation(row))
            to_review += unreviewed
            panel.view.setRowHidden(row, only and not unreviewed)
        suffix = f" ({to_review} to review)" if to_review else ""
        self.only_unreviewed.setText("Show only unreviewed" + suffix)

    def visible_ids(self) -> list[int]:
        """Ids of the rows the list shows, top first."""
        panel = self.window.layer_panel
        model = panel.model
        return [
            model.annotation(row).id
            for row in range(model.rowCount())
            if not panel.view.isRowHidden(row)
        ]

    def confirm(self) -> bool:
        """Mark the selected annotation reviewed as it is (R); False when it needs none."""
        c = self.window.controller
        annotation_id = c.selected_annotation
        index = c.document.state.annotation_index
        if annotation_id not in index or not is_unreviewed(index[annotation_id]):
            return False
        return c.session.edits.confirm_review(annotation_id)
