"""The models folder: which models are installed, and downloading, importing, removing them.

The folder is, in order of precedence: the folder passed in (the user's setting), the
``SAMLABEL_MODELS_DIR`` environment variable, then ``<user data dir>/models`` (platformdirs);
see :func:`models_folder`. Extra read-only folders (a lab's shared folder, the folder bundled
in a PyInstaller build) can be searched too; new models are only ever written to the main
folder, so a read-only main folder still lists and opens, and refuses changes with a clear
message.

What counts as a model in a folder:

- an official checkpoint under its registry file name (``sam_vit_b_01ec64.pth``);
- any other ``.pth`` / ``.pt`` / ``.safetensors`` file: an imported custom model, named by
  its file stem;
- a sub-folder holding an exported ONNX model (its ``manifest.json``), named by the folder.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from samlabel.core.errors import CheckpointError
from samlabel.core.paths import bundled_models_dir
from samlabel.inference import registry
from samlabel.inference.download import (
    ProgressCallback,
    download_file,
    file_sha256,
    part_path,
)
from samlabel.inference.model_folder import (
    CHECKPOINT_SUFFIXES,
    ModelFolderError,
    custom_file_name,
    custom_name,
    folder_error,
    folder_is_writable,
    models_folder,
    size_on_disk,
)
from samlabel.inference.registry import ModelSpec, UnknownModelError

__all__ = [
    "ImportResult",
    "ModelEntry",
    "ModelFolderError",
    "ModelStore",
    "OnnxProgress",
    "folder_is_writable",
    "models_folder",
]

#: The ONNX exporter's progress: ``(message, fraction in [0, 1])``.
OnnxProgress = Callable[[str, float], None]


@dataclass(frozen=True)
class ModelEntry:
    """One model, installed or available for download.

    Attributes:
        name: registry name (``"vit_b"``) or, for a custom model, its file or folder stem.
        title: name to show (``"SAM ViT-B"``; a custom model's file name).
        path: where the file is, or where a download would put it.
        installed: whether ``path`` exists.
        size: bytes on disk when installed, else the published size (None if unknown).
        official: whether it is a registry model.
        read_only: whether it lies in one of the extra read-only folders.
        spec: the registry entry of an official model.
    """

    name: str
    title: str
    path: Path
    installed: bool
    size: int | None
    official: bool
    read_only: bool = False
    spec: ModelSpec | None = None


@dataclass(frozen=True)
class ImportResult:
    """What :meth:`ModelStore.import_checkpoint` did.

    Attributes:
        entry: the model now in the folder.
        copied: False when an identical file was already there.
        onnx_folder: the exported ONNX folder, or None when export was skipped.
        model_name: the architecture read from the weights (``"SAM ViT-B"``, ``"MobileSAM"``),
            or None when the same file was already installed and was not loaded again.
    """

    entry: ModelEntry
    copied: bool
    onnx_folder: Path | None
    model_name: str | None


class ModelStore:
    """The models folder and what is installed in it.

    Args:
        folder: the main (writable) models folder; None means :func:`models_folder`.
        read_only_folders: further folders searched for installed models, never written. The
            models folder of a packaged app (:func:`samlabel.core.paths.bundled_models_dir`)
            is always searched too.
        models: the registry to use; None means :data:`samlabel.inference.registry.MODELS`
            as it is at each call.
    """

    def __init__(
        self,
        folder: str | Path | None = None,
        *,
        read_only_folders: Iterable[str | Path] = (),
        models: Mapping[str, ModelSpec] | None = None,
    ) -> None:
        self.folder = models_folder(folder)
        folders = [Path(f).expanduser() for f in read_only_folders]
        bundled = bundled_models_dir()
        if bundled is not None and bundled not in folders:
            folders.append(bundled)
        self.read_only_folders = tuple(folders)
        self._models = models

    @property
    def models(self) -> Mapping[str, ModelSpec]:
        return registry.MODELS if self._models is None else self._models

    def is_writable(self) -> bool:
        """Whether downloads and imports can write into the main folder."""
        return folder_is_writable(self.folder)

    # -- listing -------------------------------------------------------------------------

    def entries(self) -> list[ModelEntry]:
        """Every official model (installed or not, registry order), then installed custom ones.

        An official model counts as installed when its file is in the main folder or in a
        read-only folder (the main folder wins). Custom models are sorted by name.
        """
        official_files = {spec.file_name for spec in self.models.values()}
        result = [self._official_entry(spec) for spec in self.models.values()]
        seen: set[str] = set()
        for folder, read_only in self._folders():
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                name = custom_name(path, official_files)
                if name is None or name in seen:
                    continue
                seen.add(name)
                result.append(
                    ModelEntry(
                        name=name,
                        title=path.name,
                        path=path,
                        installed=True,
                        size=size_on_disk(path),
                        official=False,
                        read_only=read_only,
                    )
                )
        return result

    def installed(self) -> list[ModelEntry]:
        """The models whose files are present."""
        return [entry for entry in self.entries() if entry.installed]

    def get(self, name: str) -> ModelEntry:
        """The entry called ``name`` (registry name, alias, file name or custom name).

        Raises:
            UnknownModelError: no official or installed model has that name.
        """
        wanted = name.strip()
        canonical = registry.canonical_name(wanted)
        for entry in self.entries():
            if canonical in (entry.name, entry.path.name) or wanted == entry.path.name:
                return entry
        known = ", ".join(entry.name for entry in self.entries())
        raise UnknownModelError(
            f"There is no model called '{name}' in the registry or in {self.folder}. "
            f"Known: {known}."
        )

    def path_of(self, name: str) -> Path:
        """The file (or ONNX folder) of an installed model, to pass to ``load_predictor``.

        Raises:
            UnknownModelError: unknown, or known but not installed (the message says how to
                get it).
        """
        entry = self.get(name)
        if not entry.installed:
            raise UnknownModelError(
                f"{entry.title} is not installed in {self.folder}: run "
                f"`samlabel models download {entry.name}` or copy {entry.path.name} there.",
                entry.path,
            )
        return entry.path

    # -- changes ---------------------------------------------------------------------------

    def download(
        self,
        name: str,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        force: bool = False,
        **options: object,
    ) -> Path:
        """Download an official model into the main folder (resuming, verifying sha256).

        Returns the installed file; when it is already installed (and ``force`` is False) no
        network is used. ``options`` go to :func:`samlabel.inference.download.download_file`
        (timeout, retries, retry_wait, session).

        Raises:
            UnknownModelError: ``name`` is not in the registry.
            ModelDownloadError: see :func:`~samlabel.inference.download.download_file`.
        """
        spec = self._spec(name)
        installed = self._official_entry(spec)
        if installed.installed and not force:
            return installed.path
        dest = self.folder / spec.file_name
        return download_file(
            spec.url,
            dest,
            sha256=spec.sha256,
            size=spec.size,
            progress=progress,
            cancel=cancel,
            **options,  # type: ignore[arg-type]
        )

    def import_checkpoint(
        self,
        source: str | Path,
        *,
        name: str | None = None,
        export_onnx: bool = True,
        progress: OnnxProgress | None = None,
    ) -> ImportResult:
        """Check that ``source`` loads as a SAM model, copy it in atomically, export ONNX.

        The file keeps its registry name when its sha256 is an official model's; otherwise it
        is stored as ``<name or source stem><suffix>``. Importing the same file twice is a no-op.

        Args:
            source: a SAM / MobileSAM checkpoint (``.pth``, ``.pt``, ``.safetensors``).
            name: name for a custom model (letters, digits, ``.``, ``_``, ``-``).
            export_onnx: export (or find cached) ONNX files for the copied checkpoint.
            progress: the ONNX exporter's ``(message, fraction)`` callback.

        Raises:
            CheckpointError: the file is missing or not a loadable SAM checkpoint.
            InferenceError: the ONNX export failed (the checkpoint stays imported).
            ModelFolderError: the folder cannot be written, or ``name`` is taken by another file.
        """
        source = Path(source).expanduser()
        if not source.is_file():
            raise CheckpointError(f"{source} does not exist or is not a file.", source)
        if source.suffix.lower() not in CHECKPOINT_SUFFIXES:
            raise CheckpointError(
                f"{source} is not a checkpoint file (expected {', '.join(CHECKPOINT_SUFFIXES)}).",
                source,
            )
        digest = file_sha256(source)
        spec = next((s for s in self.models.values() if s.sha256 == digest), None)
        file_name = spec.file_name if spec else custom_file_name(name or source.stem, source)
        if spec is None and any(s.file_name == file_name for s in self.models.values()):
            raise ModelFolderError(
                f"{file_name} is the name of an official model file, and {source} is not that "
                "model: give it another name with --name.",
                source,
            )
        dest = self.folder / file_name
        if dest.is_file() and file_sha256(dest) == digest:
            # The very same file was imported (and checked) before: nothing to copy or load.
            onnx_folder = _export_onnx(dest, progress) if export_onnx else None
            return ImportResult(self.get(file_name), False, onnx_folder, None)
        # Import lazily: the torch model code is only needed for this check.
        from samlabel.sam.sam2_checkpoint import load_any_model  # SAM 1 or SAM 2

        model, info = load_any_model(source)
        del model  # only the check was wanted; free the weights before copying
        self._copy_in(source, dest, spec is None and name is not None)
        onnx_folder = _export_onnx(dest, progress) if export_onnx else None
        return ImportResult(self.get(file_name), True, onnx_folder, info.name)

    def remove(self, name: str) -> Path:
        """Delete an installed model (and a leftover partial download) from the main folder.

        Raises:
            UnknownModelError: not installed.
            ModelFolderError: it lies in a read-only folder, or the folder cannot be written.
        """
        entry = self.get(name)
        if not entry.installed:
            partial = part_path(entry.path)
            if partial.exists():
                self._delete(partial)
                return partial
            raise UnknownModelError(f"{entry.title} is not installed in {self.folder}.")
        if entry.read_only or entry.path.parent != self.folder:
            raise ModelFolderError(
                f"{entry.path} is in a read-only models folder; samlabel does not remove it.",
                entry.path,
            )
        self._delete(entry.path)
        partial = part_path(entry.path)
        if partial.exists():
            self._delete(partial)
        return entry.path

    # -- helpers ---------------------------------------------------------------------------

    def _folders(self) -> list[tuple[Path, bool]]:
        return [(self.folder, False)] + [(folder, True) for folder in self.read_only_folders]

    def _official_entry(self, spec: ModelSpec) -> ModelEntry:
        for folder, read_only in self._folders():
            path = folder / spec.file_name
            if path.is_file():
                return ModelEntry(
                    spec.name, spec.title, path, True, path.stat().st_size, True, read_only, spec
                )
        path = self.folder / spec.file_name
        return ModelEntry(spec.name, spec.title, path, False, spec.size, True, False, spec)

    def _spec(self, name: str) -> ModelSpec:
        spec = self.models.get(registry.canonical_name(name))
        if spec is None:
            known = ", ".join(self.models)
            raise UnknownModelError(
                f"There is no official model called '{name}' to download. Known: {known}. "
                "To use your own checkpoint, run `samlabel models import FILE`."
            )
        return spec

    def _copy_in(self, source: Path, dest: Path, name_given: bool) -> None:
        """Copy ``source`` to ``dest`` via a temporary file and ``os.replace``, never over
        another file."""
        if dest.exists():
            hint = "choose another name" if name_given else "give it a name with --name"
            raise ModelFolderError(
                f"A different model file {dest.name} is already in {self.folder}: {hint}, or "
                "remove the old one first.",
                dest,
            )
        temporary: Path | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            needed = source.stat().st_size
            if shutil.disk_usage(self.folder).free < needed:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.folder))
            handle, name = tempfile.mkstemp(prefix=f".{dest.name}.", dir=self.folder)
            temporary = Path(name)
            with os.fdopen(handle, "wb") as out, open(source, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, dest)
            temporary = None
        except OSError as error:
            raise folder_error(self.folder, error, "import models into") from error
        finally:
            if temporary is not None:
                temporary.unlink(missing_ok=True)

    def _delete(self, path: Path) -> None:
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as error:
            raise folder_error(path.parent, error, "remove models from") from error


def _export_onnx(checkpoint: Path, progress: OnnxProgress | None) -> Path:
    """Export (or find cached) ONNX files for ``checkpoint``.

    A first export runs in a child process (a crash of the exporter raises
    :class:`InferenceError` instead of ending this process); a cached one costs no child.
    """
    from samlabel.inference.export_in_child import ensure_onnx_in_child

    return Path(ensure_onnx_in_child(checkpoint, progress=progress))
