"""Every command of the window as data: name, text, shortcuts, icon, menus and toolbar.

The window builds its QActions, menus and toolbar from :data:`ACTIONS`, :data:`MENUS` and
:data:`TOOLBAR`, so tests can check the keyboard map and the menus without opening them, and a
shortcut lives in one place. What a command does is not here: the window's command groups
bind each action name to a callable (``MainWindow.bindings``), so a search for a handler finds
the line that binds it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActionSpec:
    """One command.

    Attributes:
        name: stable identifier (``window.actions[name]``, ``window.bindings[name]``).
        text: menu text (``&`` marks the mnemonic).
        shortcuts: key sequences in Qt's portable text form; the first is shown in menus.
        icon: file name (without ``.svg``) in ``samlabel/assets/icons``, or "".
        checkable: a toggle (tools).
        tip: status tip.
    """

    name: str
    text: str
    shortcuts: tuple[str, ...] = ()
    icon: str = ""
    checkable: bool = False
    tip: str = ""


_COMMANDS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "open_folder",
        "&Open Folder…",
        ("Ctrl+O",),
        icon="folder",
        tip="Open a folder of images",
    ),
    ActionSpec(
        "open_annotations",
        "Open &Annotations…",
        ("Ctrl+Shift+O",),
        tip="Use another annotations file for the open folder",
    ),
    ActionSpec(
        "save_annotations_as",
        "Save Annotations &As…",
        ("Ctrl+Shift+S",),
        tip="Save the annotations in another place and continue there (for a read-only folder)",
    ),
    ActionSpec(
        "choose_model",
        "Choose &Model…",
        ("Ctrl+M",),
        icon="model",
        tip="Choose a SAM or MobileSAM checkpoint",
    ),
    ActionSpec("export_coco", "Export COCO &Polygons…"),
    ActionSpec("export_png", "Export PNG &Masks…"),
    ActionSpec("export_yolo", "Export &YOLO…"),
    ActionSpec("quit", "&Quit", ("Ctrl+Q",)),
    ActionSpec(
        "undo",
        "&Undo",
        ("Ctrl+Z",),
        icon="undo",
        tip="Undo the last prompt, then the last change",
    ),
    ActionSpec("redo", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), icon="redo"),
    ActionSpec(
        "accept",
        "&Accept Mask",
        ("Return", "Enter"),
        icon="accept",
        tip="Accept the selected candidate under the current category (or Space)",
    ),
    ActionSpec("discard", "&Discard Prompts", ("Esc",), icon="discard"),
    ActionSpec("candidate_1", "Candidate &1", ("1",)),
    ActionSpec("candidate_2", "Candidate &2", ("2",)),
    ActionSpec("candidate_3", "Candidate &3", ("3",)),
    ActionSpec("next_candidate", "&Next Candidate", ("Tab",)),
    ActionSpec("delete_annotation", "&Delete Annotation", ("Del", "Backspace")),
    ActionSpec(
        "propose",
        "Pr&opose Objects",
        ("P",),
        tip="Segment everything on this image: proposals to accept (P again or Esc cancels)",
    ),
    ActionSpec(
        "mark_reviewed",
        "Mark &Reviewed",
        ("R",),
        tip="Confirm the selected annotation to review (or Enter); with none selected, "
        "every propagated mask of the frame shown",
    ),
    ActionSpec(
        "propagate",
        "Pro&pagate Through Frames",
        ("Ctrl+P",),
        icon="propagate",
        tip="Carry this stack's accepted masks through its frames with SAM 2 "
        "(Ctrl+P again or Esc cancels)",
    ),
    ActionSpec(
        "propagate_forward",
        "Propagate &Forward",
        checkable=True,
        tip="Propagate from the frame shown to the last frame",
    ),
    ActionSpec(
        "propagate_backward",
        "Propagate &Backward",
        checkable=True,
        tip="Propagate from the frame shown to the first frame",
    ),
    ActionSpec(
        "propagate_both",
        "Propagate Both &Ways",
        checkable=True,
        tip="Propagate from the frame shown to the last frame, then to the first",
    ),
    ActionSpec(
        "accept_proposals",
        "Accept Proposals Above Score",
        tip="Accept every shown proposal scored at least the Proposals panel's score",
    ),
    ActionSpec(
        "mark_done",
        "Mark Image &Done",
        ("Ctrl+D",),
        icon="done",
        tip="Mark the image as done (or in progress again)",
    ),
    ActionSpec(
        "tool_prompt",
        "&Prompt Tool",
        ("Q",),
        icon="prompt",
        checkable=True,
        tip="Click to include, right click to exclude, drag for a box",
    ),
    ActionSpec(
        "tool_brush",
        "&Brush",
        ("B",),
        icon="brush",
        checkable=True,
        tip="Paint onto the selected mask",
    ),
    ActionSpec(
        "tool_eraser",
        "&Eraser",
        ("E",),
        icon="eraser",
        checkable=True,
        tip="Erase from the selected mask",
    ),
    ActionSpec("brush_bigger", "Bigger Brush", ("]",)),
    ActionSpec("brush_smaller", "Smaller Brush", ("[",)),
    ActionSpec("next_image", "&Next Image", ("D", "Right"), icon="next"),
    ActionSpec("previous_image", "&Previous Image", ("A", "Left"), icon="previous"),
    ActionSpec("next_frame", "Next &Frame", ("PgDown",), tip="The next frame of a stack"),
    ActionSpec("previous_frame", "Previous F&rame", ("PgUp",), tip="The frame before"),
    ActionSpec("fit", "&Fit to Window", ("F",), icon="fit"),
    ActionSpec("zoom_in", "Zoom &In", ("+", "=", "Ctrl++")),
    ActionSpec("zoom_out", "Zoom &Out", ("-", "Ctrl+-")),
)
#: Ctrl+1..9 choose the current category (1/2/3 alone choose a candidate mask).
_CATEGORY_COMMANDS = tuple(
    ActionSpec(f"category_{n}", f"Category {n}", (f"Ctrl+{n}",)) for n in range(1, 10)
)
ACTIONS: tuple[ActionSpec, ...] = (*_COMMANDS, *_CATEGORY_COMMANDS)

#: Menu title -> action names in order ("-" is a separator).
MENUS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "&File",
        (
            "open_folder",
            "open_annotations",
            "save_annotations_as",
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
            "mark_reviewed",
            "mark_done",
        ),
    ),
    (
        "&Tools",
        (
            "tool_prompt",
            "tool_brush",
            "tool_eraser",
            "-",
            "brush_bigger",
            "brush_smaller",
            "-",
            "propose",
            "accept_proposals",
            "-",
            "propagate",
            "propagate_forward",
            "propagate_backward",
            "propagate_both",
        ),
    ),
    (
        "&View",
        (
            "next_image",
            "previous_image",
            "next_frame",
            "previous_frame",
            "-",
            "fit",
            "zoom_in",
            "zoom_out",
        ),
    ),
    ("&Category", tuple(f"category_{n}" for n in range(1, 10))),
)

#: Toolbar layout ("-" separator, "|category" the category chooser, "|radius" brush size,
#: "|direction" the direction of Propagate).
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
    "-",
    "propagate",
    "|direction",
)


def action_spec(name: str) -> ActionSpec:
    """The spec named ``name`` (KeyError when unknown)."""
    for spec in ACTIONS:
        if spec.name == name:
            return spec
    raise KeyError(name)
