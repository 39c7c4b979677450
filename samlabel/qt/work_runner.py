"""The window's runner of the session's requests: five background lanes, answers on the GUI
thread.

:class:`QtWorkRunner` implements :class:`samlabel.session.work.WorkRunner` with
:class:`~samlabel.qt.background.Lane` s: folders to open are listed (with their stacks'
headers) newest-first, images are read (with their display pyramid) and embeddings computed
newest-first, prompt sets decoded newest-first, accepted masks made in order. After the
current image, the next few are encoded ahead into the disk cache (prefetch), so moving on
and going back are instant. ``Predictor.decode`` keeps no per-image
state, so the encoder and decoder threads share one predictor.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from samlabel.inference.api import ImageEmbedding, Predictor
from samlabel.qt.background import Lane
from samlabel.qt.overlays import image_pyramid
from samlabel.session.encoding import Encoder, ImageMemory
from samlabel.session.session import LabellingSession
from samlabel.session.source import SourceImage
from samlabel.session.work import (
    DecodeRequest,
    EncodeRequest,
    ListRequest,
    LoadRequest,
    MaskRequest,
)

if TYPE_CHECKING:  # annotations only: the window reaches models through inference.api
    from samlabel.inference.embedding_cache import EmbeddingCache


class QtWorkRunner(QObject):
    """Runs a :class:`LabellingSession`'s requests in background threads.

    Signals:
        encodeStarted(number): the encoder began request ``number`` (emitted from its thread,
            delivered on the GUI thread).
        listingAnswered(number): the session has had the answer to folder listing ``number``
            (``session.folders.on_listed`` or ``on_list_failed`` has returned): the folder is
            open now, or it failed and the one before stays. A superseded listing skipped
            before it started is not answered.

    Attributes:
        folder_lane, images, encoder_lane, decoder_lane, mask_lane: the lanes (tests wait
            on them).
        encoder: the current model's :class:`Encoder`, None without a model.
    """

    encodeStarted = Signal(int)
    listingAnswered = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session: LabellingSession | None = None
        self.memory = ImageMemory(image_pyramid)
        self.folder_lane = Lane("samlabel-folders", newest_wins=True, parent=self)
        self.images = Lane("samlabel-images", newest_wins=True, parent=self)
        self.encoder_lane = Lane("samlabel-encoder", newest_wins=True, parent=self)
        self.decoder_lane = Lane("samlabel-decoder", newest_wins=True, parent=self)
        self.mask_lane = Lane("samlabel-masks", newest_wins=False, parent=self)
        self.encoder: Encoder | None = None
        self._ahead: list[Path] = []
        self._latest_encode = 0
        self.encodeStarted.connect(self._on_encode_started)

    def attach(self, session: LabellingSession) -> None:
        """Answer ``session`` from now on."""
        self.session = session

    @property
    def predictor(self) -> Predictor | None:
        """The model, or None."""
        return self.encoder.predictor if self.encoder is not None else None

    # -- WorkRunner --------------------------------------------------------------------
    def set_predictor(
        self, predictor: Predictor | None, model_id: str, cache: EmbeddingCache | None
    ) -> None:
        self.encoder_lane.cancel_waiting()
        self.decoder_lane.cancel_waiting()
        self._ahead = []
        self.encoder = (
            None
            if predictor is None
            else Encoder(predictor, model_id, cache, images=self.memory.peek)
        )

    def load(self, request: LoadRequest) -> None:
        memory, number = self.memory, request.number
        self.images.submit(
            lambda: memory.load(request.path),
            lambda entry: self.session.image.on_loaded(number, *entry),
            lambda text: self.session.image.on_load_failed(number, text),
        )

    def list_folder(self, request: ListRequest) -> None:
        number = request.number

        def listed(listing) -> None:
            self.session.folders.on_listed(number, listing)
            self.listingAnswered.emit(number)

        def failed(text: str) -> None:
            self.session.folders.on_list_failed(number, text)
            self.listingAnswered.emit(number)

        self.folder_lane.submit(request.run, listed, failed)

    def encode(self, request: EncodeRequest) -> None:
        encoder, number = self.encoder, request.number
        if encoder is None:
            return
        started = self.encodeStarted.emit
        self._ahead = list(request.ahead)
        self._latest_encode = number
        self.encoder_lane.submit(
            lambda: encoder.encode(request.path, request.picture, lambda: started(number)),
            lambda embedding: self._on_encoded(number, embedding),
            lambda text: self.session.image.on_encode_failed(number, text),
        )

    def _on_encode_started(self, number: int) -> None:
        if self.session is not None:
            self.session.image.on_encode_started(number)

    def _on_encoded(self, number: int, embedding: ImageEmbedding | None) -> None:
        self.session.image.on_encoded(number, embedding)
        encoder, ahead = self.encoder, self._ahead
        # Only after the newest request: a job submitted now must not supersede one waiting.
        if number != self._latest_encode or encoder is None or not ahead:
            return
        self._ahead = []

        def prefetch() -> None:
            for path in ahead:
                if number != self._latest_encode:
                    return  # the user moved on: that request goes first
                encoder.prefetch(path)

        self.encoder_lane.submit(prefetch, lambda _: None)

    def cached_embedding(self, path: Path, picture: SourceImage | None) -> ImageEmbedding | None:
        return self.encoder.cached(path, picture) if self.encoder is not None else None

    def decode(self, request: DecodeRequest) -> None:
        encoder = self.encoder
        if encoder is None:
            return
        predictor = encoder.predictor

        def run() -> tuple:
            start = time.perf_counter()
            prediction = request.run(predictor)
            return prediction, (time.perf_counter() - start) * 1000.0

        self.decoder_lane.submit(
            run,
            lambda answer: self.session.decoding.on_decoded(request.number, *answer),
            lambda text: self.session.decoding.on_failed(request.number, text),
        )

    def cancel_decode(self) -> None:
        self.decoder_lane.cancel_waiting()

    def mask(self, request: MaskRequest) -> None:
        self.mask_lane.submit(
            request.run,
            lambda mask: self.session.on_mask(request.number, mask),
            lambda text: self.session.on_mask_failed(request.number, text),
        )

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """Block until no lane has work (tests only); answers still need the event loop."""
        lanes = (
            self.folder_lane,
            self.images,
            self.encoder_lane,
            self.decoder_lane,
            self.mask_lane,
        )
        return all(lane.wait_until_idle(timeout) for lane in lanes)

    def shutdown(self) -> None:
        self._ahead = []
        self.folder_lane.shutdown()
        self.images.shutdown()
        self.decoder_lane.shutdown()
        self.mask_lane.shutdown()
        self.encoder_lane.shutdown(timeout=30.0)
