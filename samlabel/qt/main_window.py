"""The labelling window: canvas in the middle, images on the left, categories and layers on
the right, candidates below, commands in menus and a toolbar built from
:mod:`samlabel.qt.actions`.

The window only shows state and forwards what the user does to :class:`LabelController`.
What each command does lives in the command groups it owns: ``folders``
(:mod:`~samlabel.qt.folder_commands`), ``models`` (:mod:`~samlabel.qt.model_commands`),
``exports``, ``edits``, ``categories`` and ``view``; ``bindings`` maps every action name to
its callable. Models are loaded through the ``model_loader`` the composition root
(``samlabel.app``) passes in.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QColor
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledSlider

from samlabel.inference import EmbeddingCache
from samlabel.qt.actions import ACTIONS
from samlabel.qt.candidate_strip import CandidateStrip
from samlabel.qt.candidate_tiles import candidate_tiles
from samlabel.qt.canvas import ImageCanvas
from samlabel.qt.category_commands import CategoryCommands
from samlabel.qt.controller import LabelController
from samlabel.qt.crop_mode import install_crop_mode
from samlabel.qt.edit_commands import EditCommands
from samlabel.qt.export_commands import ExportCommands
from samlabel.qt.folder_commands import FolderCommands
from samlabel.qt.frame_slider import install_frame_navigation
from samlabel.qt.gui_thread_gc import gui_thread_collector
from samlabel.qt.image_list import ImageListView
from samlabel.qt.layer_overlays import LayerOverlays
from samlabel.qt.live_mask import LiveMaskFeed
from samlabel.qt.message_bar import MessageBar
from samlabel.qt.model_commands import ModelCommands, ModelLoader
from samlabel.qt.panels import CategoryPanel, LayerPanel
from samlabel.qt.propagation_commands import PropagationCommands
from samlabel.qt.proposal_commands import ProposalCommands
from samlabel.qt.settings import MAX_BRUSH_RADIUS, MIN_BRUSH_RADIUS, SettingsStore
from samlabel.qt.status_bar import LabelStatusBar
from samlabel.qt.typing_guard import TypingGuard
from samlabel.qt.view_commands import ViewCommands
from samlabel.qt.window_actions import build_actions, build_menus, build_toolbar
from samlabel.qt.window_level_session import install_window_level

APP_TITLE = "samlabel"


class MainWindow(QMainWindow):
    """See the module docstring. ``actions[name]`` are the QActions of :data:`ACTIONS`,
    ``bindings[name]`` what they run."""

    def __init__(
        self,
        controller: LabelController,
        settings: SettingsStore,
        model_loader: ModelLoader | None = None,
        embedding_cache: EmbeddingCache | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        # Before any work runs off the GUI thread: see gui_thread_gc.
        gui_thread_collector().hold(self)
        self.controller = controller
        self.settings = settings
        self._told_cache_problem = False
        self.folders = FolderCommands(self)
        self.models = ModelCommands(self, model_loader, embedding_cache)
        self.exports = ExportCommands(self)
        self.edits = EditCommands(self)
        self.categories = CategoryCommands(self)
        self.view = ViewCommands(self)
        self.setObjectName("mainWindow")
        self.resize(1400, 900)
        self._build_central()
        self._build_docks()
        self.status = LabelStatusBar(self)
        self.setStatusBar(self.status)
        self.crop_mode = install_crop_mode(self)  # huge images: overview, then crops
        self.proposals = ProposalCommands(self)  # segment everything, to review
        self.frame_slider = install_frame_navigation(self)  # stacks: frames under the canvas
        self.propagation = PropagationCommands(self)  # SAM 2 carries masks through a stack
        self.bindings = self._bindings()
        self.actions = build_actions(self, self.bindings)
        self.propagation.attach(self.actions)
        self.menus = build_menus(self.menuBar(), self.actions)
        self._build_tool_widgets()
        tool_widgets = {
            "|category": ("Category", self.category_box),
            "|radius": ("Radius", self.radius_slider),
            "|direction": ("", self.propagation.direction_box),
        }
        self.toolbar = build_toolbar(self, self.actions, tool_widgets)
        self.propagation.attach_toolbar(self.toolbar)
        self.overlays = LayerOverlays(controller, self.canvas)
        self._connect()
        self._typing_guard = TypingGuard(self)
        QApplication.instance().installEventFilter(self._typing_guard)
        self._timer = QTimer(self)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self.edits.set_tool("prompt")
        self.canvas.brush_radius = settings.brush_radius
        self.radius_slider.setValue(settings.brush_radius)
        self.refresh_model_state()
        self.refresh_title()
        geometry, state = settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    # -- construction ------------------------------------------------------------------
    def _build_central(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.message_bar = MessageBar()
        self.canvas = ImageCanvas()
        self.live_mask = LiveMaskFeed(self.canvas)  # the canvas draws it; the feed makes it
        self.candidates = CandidateStrip()
        self.open_button = QPushButton("Open folder…")
        self.open_button.setObjectName("openFolderButton")
        self.open_button.clicked.connect(self.folders.choose_folder)
        self.canvas.set_placeholder(self.open_button)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.candidates)
        self.setCentralWidget(central)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        images = QWidget()
        layout = QVBoxLayout(images)
        layout.setContentsMargins(6, 6, 6, 6)
        self.image_list = ImageListView()
        self.image_list.setModel(self.controller.images)
        layout.addWidget(self.image_list)
        self.images_dock = self._dock(
            "Images", "imagesDock", images, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.category_panel = CategoryPanel(self.controller.categories)
        self.layer_panel = LayerPanel(self.controller.layers, self.controller.categories)
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self._dock("Categories", "categoriesDock", self.category_panel, right)
        self._dock("Layers", "layersDock", self.layer_panel, right)
        self.window_level = install_window_level(self)  # shown for >8-bit and float images

    def _bindings(self) -> dict[str, Callable[[], None]]:
        """Action name -> the callable it runs, one for every spec of :data:`ACTIONS`."""
        bindings: dict[str, Callable[[], None]] = {
            "choose_model": self.models.choose_model,
            "quit": self.close,
            **self.folders.bindings(),
            **self.exports.bindings(),
            **self.edits.bindings(),
            **self.categories.bindings(),
            **self.view.bindings(),
        }
        bindings = self.proposals.wrap(bindings)  # Esc/Tab/Enter on shown proposals
        bindings = self.propagation.wrap(bindings)  # Esc cancels a run, R confirms a frame
        unbound = {spec.name for spec in ACTIONS} ^ set(bindings)
        if unbound:
            raise RuntimeError(f"actions without exactly one binding: {sorted(unbound)}")
        return bindings

    def _build_tool_widgets(self) -> None:
        self.category_box = QComboBox()
        self.category_box.setObjectName("categoryChooser")
        self.category_box.setModel(self.controller.categories)
        self.category_box.setMinimumWidth(140)
        self.category_box.setToolTip("Category of the next accepted mask (Ctrl+1…9)")
        self.category_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.radius_slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.radius_slider.setRange(MIN_BRUSH_RADIUS, MAX_BRUSH_RADIUS)
        self.radius_slider.setFixedWidth(150)
        self.radius_slider.setToolTip("Brush and eraser radius in image pixels ([ and ])")

    def _connect(self) -> None:
        c = self.controller
        self.canvas.pointClicked.connect(c.add_point)
        self.canvas.boxDrawn.connect(c.set_box)
        self.canvas.brushStroke.connect(c.brush)
        self.canvas.spaceTapped.connect(self.edits.accept_mask)
        self.canvas.annotationClicked.connect(self.layer_panel.select)
        self.canvas.viewChanged.connect(self._refresh_zoom)
        self.canvas.cursorMoved.connect(self._show_position)
        self.candidates.candidateChosen.connect(c.choose_candidate)
        self.image_list.clicked.connect(lambda index: c.go_to(index.row()))
        self.category_panel.currentChanged.connect(c.set_current_category)
        self.category_panel.addRequested.connect(self.categories.ask_new_category)
        self.category_panel.recolourRequested.connect(self.categories.ask_category_colour)
        self.category_panel.deleteRequested.connect(c.delete_category)
        self.category_box.activated.connect(self.categories.box_chosen)
        self.layer_panel.selectionChanged.connect(c.select_annotation)
        self.layer_panel.deleteRequested.connect(c.delete_annotation)
        self.layer_panel.moveRequested.connect(c.move_annotation)
        self.layer_panel.categoryRequested.connect(c.set_annotation_category)
        self.layer_panel.zoomRequested.connect(self.view.zoom_to_annotation)
        self.radius_slider.valueChanged.connect(self.edits.radius_changed)
        c.imageChanged.connect(self._on_image_changed)
        c.imageLoaded.connect(self._on_image_loaded)
        c.promptsChanged.connect(self._on_prompts_changed)
        c.documentChanged.connect(self._on_document_changed)
        c.embeddingState.connect(self.show_embedding_state)
        c.message.connect(self.show_message)
        c.notice.connect(self.show_notice)

    # -- reactions to the controller ---------------------------------------------------
    def _on_image_changed(self) -> None:
        c = self.controller
        selection = self.image_list.selectionModel()
        if c.row >= 0:
            index = c.images.index(c.row)
            selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.image_list.scrollTo(index)
        self.overlays.clear()
        self.folders.remember_place()
        self.refresh_title()

    def _on_image_loaded(self) -> None:
        source = self.controller.source
        if source is not None:
            self.canvas.set_image(source.display, self.controller.pyramid)
        else:
            self.canvas.set_image(None)
        if source is None:
            self.canvas.set_message("This image cannot be shown.")
            self.open_button.setVisible(self.controller.folder is None)
        else:
            self.canvas.set_message("")
        self.overlays.refresh()
        self._on_prompts_changed()

    def _live_color(self) -> QColor:
        c = self.controller
        if c.current_category is not None and c.current_category in c.document.state.category_index:
            return QColor(c.document.category(c.current_category).color)
        return QColor(64, 156, 255)

    def _on_prompts_changed(self) -> None:
        session = self.controller.prompts
        color = self._live_color()
        self.canvas.set_prompts(session.points, session.box)
        # The latest mask stays shown while the newest prompts are decoded in the background.
        shown = session.shown_step()
        prediction = shown.prediction if shown is not None else None
        selected = shown.selected if shown is not None else 0
        self.live_mask.show(prediction, selected, color)
        source = self.controller.source
        rgb = source.display if source is not None else None
        self.candidates.show_candidates(candidate_tiles(rgb, prediction, color), selected)
        if prediction is not None:
            self.status.decode_label.setText(f"decode {self.controller.last_decode_ms:.0f} ms")

    def _on_document_changed(self) -> None:
        c = self.controller
        self.overlays.refresh()
        row = c.categories.row_of(c.current_category) if c.current_category is not None else -1
        self.category_box.setCurrentIndex(row)
        self.category_panel.set_current(c.current_category)
        if self.layer_panel.selected != c.selected_annotation:
            self.layer_panel.select(c.selected_annotation)
        self.folders.remember_place()
        self.refresh_title()
        done = sum(1 for image in c.document.images if image.status.value == "done")
        self.images_dock.setWindowTitle(f"Images · {done}/{len(c.paths)} done")
        self._on_prompts_changed()

    def show_embedding_state(self, state: str) -> None:
        """Show the embedding's ``state`` (see ``LabelController.embeddingState``)."""
        c = self.controller
        name = c.paths[c.row].name if c.row >= 0 else ""
        if state == "encoding":
            # Timed from this event: the controller's own start time is set after it.
            self.status.show_busy(f"Computing the embedding of {name}", time.monotonic())
        elif state == "ready":
            self.status.show_state("Ready: click to include, right click to exclude, drag a box")
            self._tell_cache_problem()
        elif state == "failed":
            self.status.show_state("The embedding failed; see the message above")
        else:
            self.status.show_state("No model: choose one to get masks")
        self.refresh_model_state()

    def _tell_cache_problem(self) -> None:
        """Once per window: the embedding cache's folder refused an embedding (it is kept in
        memory instead, so going back to images is slower until the folder is fixed)."""
        cache = self.models.embedding_cache
        if cache is None or cache.problem is None or self._told_cache_problem:
            return
        self._told_cache_problem = True
        self.message_bar.pin("embedding_cache", "warning", cache.problem)

    def refresh_model_state(self) -> None:
        predictor = self.controller.predictor
        self.status.model_label.setText(predictor.describe() if predictor else "No model")
        if self.controller.row < 0:
            text = "Open a folder of images to begin (File ▸ Open Folder…)."
            if predictor is None:
                text += "\nA SAM or MobileSAM model is needed for masks (File ▸ Choose Model…)."
            self.canvas.set_message(text)

    def refresh_title(self) -> None:
        c = self.controller
        where = str(c.folder) if c.folder is not None else "no folder"
        mark = "" if c.is_saved() else " *"
        store = c.store
        if store is not None and store.read_only_reason is not None:
            mark += " [read-only: not saved]"
        title = f"{APP_TITLE} — {where}{mark}"
        if self.windowTitle() != title:
            self.setWindowTitle(title)

    def _refresh_zoom(self) -> None:
        self.status.zoom_label.setText(f"{self.canvas.scale * 100:.0f} %")

    def _show_position(self, x: float, y: float) -> None:
        size = self.canvas.image_size
        inside = size is not None and 0 <= x < size[1] and 0 <= y < size[0]
        self.status.position_label.setText(f"x {int(x)}  y {int(y)}" if inside else "")

    def _tick(self) -> None:
        if self.status.encoding:
            self.status.tick()
        self.refresh_title()

    def show_message(self, level: str, text: str) -> None:
        """Show ``text`` in the message bar (errors) or the status bar (info)."""
        if level == "info":
            self.status.showMessage(text, 4000)
            return
        choose = self.models.choose_model
        if self.controller.predictor is None and self.message_bar.offers(choose):
            # Until a model is loaded the bar keeps its "Choose model…" button.
            self.message_bar.show_message(level, text, "Choose model…", choose)
            return
        self.message_bar.show_message(level, text)

    def show_notice(self, key: str, level: str, text: str, offers: tuple[str, ...]) -> None:
        """Keep a lasting problem in the message bar until resolved or dismissed, with a
        button for each choice the session offers (``text`` "": resolved)."""
        if not text:
            self.message_bar.unpin(key)
        else:
            self.message_bar.pin(key, level, text, self.folders.offer_buttons(offers))
        self.refresh_title()

    def notify_no_model(self, reason: str = "") -> None:
        """Explain that masks need a model and offer to choose one."""
        text = reason or "No model is loaded yet: masks need a SAM or MobileSAM checkpoint."
        self.message_bar.show_message("warning", text, "Choose model…", self.models.choose_model)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.folders.confirm_close():  # unsaved work that cannot be saved there
            event.ignore()
            return
        QApplication.instance().removeEventFilter(self._typing_guard)
        self.settings.set_window_state(self.saveGeometry(), self.saveState())
        self.settings.sync()
        self._timer.stop()
        self.exports.wait()
        self.proposals.shutdown()
        self.propagation.shutdown()
        self.controller.shutdown()
        gui_thread_collector().release(self)
        super().closeEvent(event)
