"""What the window remembers between sessions, in an INI file read through QSettings.

The file path is injectable (tests pass a temporary one); by default it is
``config_dir()/samlabel.ini``. Values are typed and checked on the way out: a hand-edited or
stale value (a radius of 10^20, a colour that is not ``#rrggbb``) gives the default and one
logged line naming the file and the key, never an error. A config folder that cannot be made
(a file of that name, no permission) leaves the settings at their defaults, unremembered.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from samlabel.core.model import normalize_color
from samlabel.core.paths import config_dir

log = logging.getLogger(__name__)

DEFAULT_BRUSH_RADIUS = 12
#: Brush and eraser radius range in image pixels (the toolbar slider's range).
MIN_BRUSH_RADIUS, MAX_BRUSH_RADIUS = 1, 200


class SettingsStore:
    """Typed access to the settings file."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else config_dir() / "samlabel.ini"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            # QSettings then reads nothing and its writes fail quietly: defaults, unremembered.
            log.warning(
                "Settings are not remembered: %s cannot be a folder (%s).",
                self.path.parent,
                error.strerror or error,
            )
        self._settings = QSettings(str(self.path), QSettings.Format.IniFormat)
        self._reported: set[str] = set()

    def _invalid(self, key: str, value: object, default: object) -> None:
        """Log once per key that a stored value was ignored."""
        if key not in self._reported:
            self._reported.add(key)
            log.warning("%s: ignoring %s=%r; using %r.", self.path, key, value, default)

    def _text(self, key: str) -> str | None:
        value = self._settings.value(key)
        return str(value) if value not in (None, "") else None

    @property
    def last_folder(self) -> Path | None:
        """The folder opened last, or None."""
        text = self._text("session/last_folder")
        return Path(text) if text else None

    @last_folder.setter
    def last_folder(self, folder: str | Path | None) -> None:
        self._settings.setValue("session/last_folder", str(folder) if folder else "")

    @property
    def model_path(self) -> Path | None:
        """The model checkpoint chosen last, or None."""
        text = self._text("model/path")
        return Path(text) if text else None

    @model_path.setter
    def model_path(self, path: str | Path | None) -> None:
        self._settings.setValue("model/path", str(path) if path else "")

    @property
    def model_backend(self) -> str:
        """The backend chosen last for the model (``"auto"`` when none or unknown)."""
        from samlabel.inference import BACKENDS

        text = self._text("model/backend")
        if text is not None and text not in BACKENDS:
            self._invalid("model/backend", text, "auto")
        return text if text in BACKENDS else "auto"

    @model_backend.setter
    def model_backend(self, backend: str | None) -> None:
        self._settings.setValue("model/backend", backend or "")

    @property
    def brush_radius(self) -> int:
        """Brush and eraser radius in image pixels, within the slider's range."""
        value = self._settings.value("tools/brush_radius", DEFAULT_BRUSH_RADIUS)
        try:
            radius = int(value)
        except (TypeError, ValueError, OverflowError):
            radius = None
        if radius is None or not MIN_BRUSH_RADIUS <= radius <= MAX_BRUSH_RADIUS:
            self._invalid("tools/brush_radius", value, DEFAULT_BRUSH_RADIUS)
            return DEFAULT_BRUSH_RADIUS
        return radius

    @brush_radius.setter
    def brush_radius(self, radius: int) -> None:
        self._settings.setValue("tools/brush_radius", int(radius))

    def category_color(self, name: str) -> str | None:
        """The colour last given to a category of this name (``"#rrggbb"``), or None (also
        for a stored value that is not a colour)."""
        key = f"category_colors/{name}"
        text = self._text(key)
        if text is None:
            return None
        try:
            return normalize_color(text)
        except ValueError:
            self._invalid(key, text, None)
            return None

    def set_category_color(self, name: str, color: str) -> None:
        """Remember ``color`` for categories named ``name``."""
        self._settings.setValue(f"category_colors/{name}", color)

    @staticmethod
    def _folder_key(folder: str | Path) -> str:
        # A path is not a valid settings key (slashes are groups): a short digest is.
        digest = hashlib.sha1(str(Path(folder).resolve()).encode("utf-8")).hexdigest()[:16]
        return f"folders/{digest}"

    def folder_place(self, folder: str | Path) -> tuple[Path | None, str | None]:
        """``(image, category name)`` that were current when ``folder`` was last open, each
        None when unknown."""
        key = self._folder_key(folder)
        image = self._text(f"{key}/image")
        return (Path(image) if image else None), self._text(f"{key}/category")

    def set_folder_place(
        self, folder: str | Path, image: str | Path | None, category: str | None
    ) -> None:
        """Remember the current ``image`` (its path) and ``category`` (its name) of ``folder``."""
        key = self._folder_key(folder)
        self._settings.setValue(f"{key}/path", str(folder))  # for a person reading the file
        self._settings.setValue(f"{key}/image", str(image) if image else "")
        self._settings.setValue(f"{key}/category", category or "")

    def folder_annotations(self, folder: str | Path) -> Path | None:
        """The annotations file "Save annotations as…" chose for ``folder``, when it still
        exists (else None: the folder's own file)."""
        text = self._text(f"{self._folder_key(folder)}/annotations")
        return Path(text) if text and Path(text).is_file() else None

    def set_folder_annotations(self, folder: str | Path, path: str | Path) -> None:
        """Remember that ``folder``'s annotations are saved in ``path`` from now on."""
        key = self._folder_key(folder)
        self._settings.setValue(f"{key}/path", str(folder))
        self._settings.setValue(f"{key}/annotations", str(path))

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        """Saved ``(geometry, dock/toolbar state)``."""
        geometry = self._settings.value("window/geometry")
        state = self._settings.value("window/state")
        return (
            geometry if isinstance(geometry, QByteArray) else None,
            state if isinstance(state, QByteArray) else None,
        )

    def set_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        """Remember the window's geometry and layout."""
        self._settings.setValue("window/geometry", geometry)
        self._settings.setValue("window/state", state)

    def sync(self) -> None:
        """Write to disk now."""
        self._settings.sync()
