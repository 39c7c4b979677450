"""What the window remembers between sessions, in an INI file read through QSettings.

The file path is injectable (tests pass a temporary one); by default it is
``config_dir()/samlabel.ini``. Values are typed on the way out, so a hand-edited or stale file
gives defaults instead of errors.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from samlabel.core.paths import config_dir

DEFAULT_BRUSH_RADIUS = 12


class SettingsStore:
    """Typed access to the settings file."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else config_dir() / "samlabel.ini"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._settings = QSettings(str(self.path), QSettings.Format.IniFormat)

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
        from samlabel.inference.loader import BACKENDS

        text = self._text("model/backend")
        return text if text in BACKENDS else "auto"

    @model_backend.setter
    def model_backend(self, backend: str | None) -> None:
        self._settings.setValue("model/backend", backend or "")

    @property
    def brush_radius(self) -> int:
        """Brush and eraser radius in image pixels."""
        try:
            return max(1, int(self._settings.value("tools/brush_radius", DEFAULT_BRUSH_RADIUS)))
        except (TypeError, ValueError):
            return DEFAULT_BRUSH_RADIUS

    @brush_radius.setter
    def brush_radius(self, radius: int) -> None:
        self._settings.setValue("tools/brush_radius", int(radius))

    def category_color(self, name: str) -> str | None:
        """The colour last given to a category of this name (``"#rrggbb"``), or None."""
        return self._text(f"category_colors/{name}")

    def set_category_color(self, name: str, color: str) -> None:
        """Remember ``color`` for categories named ``name``."""
        self._settings.setValue(f"category_colors/{name}", color)

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
