"""Every command of the window as data: name, text, shortcuts, menu, toolbar, icon.

The window builds its QActions and menus from :data:`ACTIONS` and :data:`MENUS`, so tests can
check the keyboard map and the menus without opening them, and a shortcut lives in one place.
``handler`` names a method of :class:`samlabel.qt.main_window.MainWindow`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActionSpec:
    """One command.

    Attributes:
        name: stable identifier (``window.actions[name]``).
        text: menu text (``&`` marks the mnemonic).
        handler: name of the window method called when triggered.
        shortcuts: key sequences in Qt's portable text form; the first is shown in menus.
        icon: file name (without ``.svg``) in ``samlabel/assets/icons``, or "".
        checkable: a toggle (tools).
        toolbar: shown on the main toolbar.
        tip: status tip.
    """

    name: str
    text: str
    handler: str
    shortcuts: tuple[str, ...] = ()
    icon: str = ""
    checkable: bool = False
    toolbar: bool = False
    tip: str = ""


_COMMANDS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "open_folder",
        "&Open Folder…",
        "choose_folder",
        ("Ctrl+O",),
        "folder",
        False,
        True,
        "Open a folder of images",
    ),
    ActionSpec(
        "open_annotations",
        "Open &Annotations…",
        "choose_annotations",
        ("Ctrl+Shift+O",),
        tip="Use another annotations file for the open folder",
    ),
    ActionSpec(
        "choose_model",
        "Choose &Model…",
        "choose_model",
        ("Ctrl+M",),
        "model",
        tip="Choose a SAM or MobileSAM checkpoint",
    ),
    ActionSpec("export_coco", "Export COCO &Polygons…", "export_coco_polygons"),
    ActionSpec("export_png", "Export PNG &Masks…", "export_png_masks"),
    ActionSpec("export_yolo", "Export &YOLO…", "export_yolo"),
    ActionSpec("quit", "&Quit", "close", ("Ctrl+Q",)),
    ActionSpec(
        "undo",
        "&Undo",
        "undo",
        ("Ctrl+Z",),
        "undo",
        False,
        True,
        "Undo the last prompt, then the last change",
    ),
    ActionSpec("redo", "&Redo", "redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "redo", False, True),
    ActionSpec(
        "accept",
        "&Accept Mask",
        "accept_mask",
        ("Return", "Enter"),
        "accept",
        False,
        True,
        "Accept the selected candidate under the current category (or Space)",
    ),
    ActionSpec("discard", "&Discard Prompts", "discard_prompts", ("Esc",), "discard", False, True),
    ActionSpec("candidate_1", "Candidate &1", "choose_candidate_1", ("1",)),
    ActionSpec("candidate_2", "Candidate &2", "choose_candidate_2", ("2",)),
    ActionSpec("candidate_3", "Candidate &3", "choose_candidate_3", ("3",)),
    ActionSpec("next_candidate", "&Next Candidate", "next_candidate", ("Tab",)),
    ActionSpec("delete_annotation", "&Delete Annotation", "delete_selected", ("Del", "Backspace")),
    ActionSpec(
        "mark_done",
        "Mark Image &Done",
        "toggle_done",
        ("Ctrl+D",),
        "done",
        tip="Mark the image as done (or in progress again)",
    ),
    ActionSpec(
        "tool_prompt",
        "&Prompt Tool",
        "use_prompt_tool",
        ("P",),
        "prompt",
        True,
        True,
        "Click to include, right click to exclude, drag for a box",
    ),
    ActionSpec(
        "tool_brush",
        "&Brush",
        "use_brush",
        ("B",),
        "brush",
        True,
        True,
        "Paint onto the selected mask",
    ),
    ActionSpec(
        "tool_eraser",
        "&Eraser",
        "use_eraser",
        ("E",),
        "eraser",
        True,
        True,
        "Erase from the selected mask",
    ),
    ActionSpec("brush_bigger", "Bigger Brush", "brush_bigger", ("]",)),
    ActionSpec("brush_smaller", "Smaller Brush", "brush_smaller", ("[",)),
    ActionSpec("next_image", "&Next Image", "next_image", ("D", "Right"), "next", False, True),
    ActionSpec(
        "previous_image",
        "&Previous Image",
        "previous_image",
        ("A", "Left"),
        "previous",
        False,
        True,
    ),
    ActionSpec("fit", "&Fit to Window", "fit_view", ("F",), "fit", False, True),
    ActionSpec("zoom_in", "Zoom &In", "zoom_in", ("+", "=", "Ctrl++")),
    ActionSpec("zoom_out", "Zoom &Out", "zoom_out", ("-", "Ctrl+-")),
)
#: Ctrl+1..9 choose the current category (1/2/3 alone choose a candidate mask).
_CATEGORY_COMMANDS = tuple(
    ActionSpec(f"category_{n}", f"Category {n}", f"choose_category_{n}", (f"Ctrl+{n}",))
    for n in range(1, 10)
)
ACTIONS: tuple[ActionSpec, ...] = (*_COMMANDS, *_CATEGORY_COMMANDS)

#: Menu title -> action names in order ("-" is a separator).
MENUS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "&File",
        (
            "open_folder",
            "open_annotations",
            "-",
            "choose_model",
            "-",
            "export_coco",
            "export_png",
            "export_yolo",
            "-",
            "quit",
        ),
    ),
    (
        "&Edit",
        (
            "undo",
            "redo",
            "-",
            "accept",
            "discard",
            "-",
            "candidate_1",
            "candidate_2",
            "candidate_3",
            "next_candidate",
            "-",
            "delete_annotation",
            "mark_done",
        ),
    ),
    ("&Tools", ("tool_prompt", "tool_brush", "tool_eraser", "-", "brush_bigger", "brush_smaller")),
    ("&View", ("next_image", "previous_image", "-", "fit", "zoom_in", "zoom_out")),
    ("&Category", tuple(f"category_{n}" for n in range(1, 10))),
)

#: Toolbar layout ("-" separator, "|category" the category chooser, "|radius" brush size).
TOOLBAR: tuple[str, ...] = (
    "open_folder",
    "-",
    "previous_image",
    "next_image",
    "-",
    "tool_prompt",
    "tool_brush",
    "tool_eraser",
    "|radius",
    "-",
    "|category",
    "-",
    "accept",
    "discard",
    "-",
    "undo",
    "redo",
    "-",
    "fit",
)


def action_spec(name: str) -> ActionSpec:
    """The spec named ``name`` (KeyError when unknown)."""
    for spec in ACTIONS:
        if spec.name == name:
            return spec
    raise KeyError(name)
