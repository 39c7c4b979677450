"""A runner without threads: the session's work done on the calling thread, when asked.

:class:`SyncRunner` keeps the requests it is given and runs them in :meth:`SyncRunner.run`, in
the order they came, answering the session as the window's background runner would. A
waiting encode or decode is replaced by a newer one, as in the window; nothing runs until
:meth:`run` is called, so a test can look at the state in between, or send more requests
first. For tests and commands that label without a window.
"""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from samlabel.inference.api import ImageEmbedding, Predictor
from samlabel.io.save_outcome import SaveKind, SaveOutcome
from samlabel.io.store import AnnotationStore
from samlabel.session.decoding import describe_error
from samlabel.session.encoding import Encoder
from samlabel.session.source import SourceImage, read_source_image
from samlabel.session.work import (
    DecodeRequest,
    EncodeRequest,
    ListRequest,
    LoadRequest,
    MaskRequest,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from samlabel.session.session import LabellingSession

log = logging.getLogger(__name__)


class PlainAnnotationFile:
    """An annotations file saved when asked (:meth:`save`) and on :meth:`close`: what a command
    without an event loop uses instead of the window's autosave.

    Attributes:
        store: the open file (:class:`samlabel.io.store.AnnotationStore`).
    """

    def __init__(self, store: AnnotationStore) -> None:
        self.store = store
        self.document = store.document
        self.read_only_reason = store.read_only_reason
        self._on_outcome: Callable[[SaveOutcome], None] = lambda outcome: None

    def attach(
        self, on_outcome: Callable[[SaveOutcome], None], on_check: Callable[[], None]
    ) -> None:
        """Report each save to ``on_outcome`` (nothing watches the file here)."""
        self._on_outcome = on_outcome

    def is_saved(self) -> bool:
        """Whether the file holds the document's current revision."""
        return not self.store.dirty

    def save(self) -> bool:
        """Write the document now if it changed; False when there was nothing to write."""
        outcome = self.store.try_save()
        self._on_outcome(outcome)
        return outcome.kind in (SaveKind.SAVED, SaveKind.MERGED, SaveKind.CONFLICT)

    def close(self) -> None:
        """Save what is left and release the file."""
        self.store.close()

    def discard(self) -> None:
        """Release the file without saving."""
        self.store.close(save=False)


def open_annotation_file(
    path: Path, on_error: Callable[[str], None] | None = None
) -> PlainAnnotationFile:
    """Open (or start) the annotations file ``path`` for a session without a window.

    Raises:
        AnnotationFileError: the file exists but cannot be read (it is left as it is).
    """
    return PlainAnnotationFile(AnnotationStore.open(path))


class SyncRunner:
    """Runs the session's requests on the calling thread in :meth:`run`.

    Embeddings come from the same :class:`~samlabel.session.encoding.Encoder` (memory, disk
    cache, model) as in the window; the images ahead of the current one are not encoded.

    Attributes:
        session: the session answered (set by :meth:`attach`).
        encoder: computes the embeddings, None without a model.
    """

    def __init__(self) -> None:
        self.session: LabellingSession | None = None
        self.encoder: Encoder | None = None
        self._queue: deque = deque()

    def attach(self, session: LabellingSession) -> None:
        """Answer ``session`` from now on."""
        self.session = session

    # -- WorkRunner --------------------------------------------------------------------
    def set_predictor(self, predictor: Predictor | None, model_id: str, cache: object) -> None:
        self.encoder = None if predictor is None else Encoder(predictor, model_id, cache)
        stale = (EncodeRequest, DecodeRequest)
        self._queue = deque(r for r in self._queue if not isinstance(r, stale))

    def load(self, request: LoadRequest) -> None:
        self._queue = deque(r for r in self._queue if not isinstance(r, LoadRequest))
        self._queue.append(request)

    def list_folder(self, request: ListRequest) -> None:
        self._queue = deque(r for r in self._queue if not isinstance(r, ListRequest))
        self._queue.append(request)

    def encode(self, request: EncodeRequest) -> None:
        self._queue = deque(r for r in self._queue if not isinstance(r, EncodeRequest))
        self._queue.append(request)

    def cached_embedding(self, path: Path, picture: SourceImage | None) -> ImageEmbedding | None:
        return self.encoder.cached(path, picture) if self.encoder is not None else None

    def decode(self, request: DecodeRequest) -> None:
        self.cancel_decode()
        self._queue.append(request)

    def cancel_decode(self) -> None:
        self._queue = deque(r for r in self._queue if not isinstance(r, DecodeRequest))

    def mask(self, request: MaskRequest) -> None:
        self._queue.append(request)

    def shutdown(self) -> None:
        self._queue.clear()

    # -- running -----------------------------------------------------------------------
    def pending(self) -> list[object]:
        """The requests waiting, oldest first."""
        return list(self._queue)

    def run(self, limit: int = 1000) -> int:
        """Run the waiting requests, and those their answers cause, until none is left;
        returns how many ran. ``limit`` guards against a loop that never ends."""
        count = 0
        while self._queue:
            if count >= limit:
                raise RuntimeError(f"still {len(self._queue)} requests after {limit}")
            self._run_one(self._queue.popleft())
            count += 1
        return count

    def _run_one(self, request: object) -> None:
        session = self.session
        if session is None:
            raise RuntimeError("attach a session first")
        if isinstance(request, LoadRequest):
            try:
                image = read_source_image(request.path)
            except Exception as error:
                session.image.on_load_failed(request.number, describe_error(error))
            else:
                session.image.on_loaded(request.number, image, [])
        elif isinstance(request, ListRequest):
            try:
                listing = request.run()
            except Exception as error:
                session.folders.on_list_failed(request.number, describe_error(error))
            else:
                session.folders.on_listed(request.number, listing)
        elif isinstance(request, EncodeRequest):
            self._encode(session, request)
        elif isinstance(request, DecodeRequest):
            try:
                prediction = request.run(self.encoder.predictor)
            except Exception as error:
                session.decoding.on_failed(request.number, describe_error(error))
            else:
                session.decoding.on_decoded(request.number, prediction, 0.0)
        elif isinstance(request, MaskRequest):
            try:
                mask = request.run()
            except Exception as error:
                session.on_mask_failed(request.number, describe_error(error))
            else:
                session.on_mask(request.number, mask)

    def _encode(self, session: LabellingSession, request: EncodeRequest) -> None:
        number = request.number
        try:
            embedding = self.encoder.encode(
                request.path, request.picture, lambda: session.image.on_encode_started(number)
            )
        except Exception as error:
            session.image.on_encode_failed(number, describe_error(error))
        else:
            session.image.on_encoded(number, embedding)
