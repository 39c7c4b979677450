"""The default backend: SAM's two halves exported to ONNX and run by ONNX Runtime on the CPU."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from samlabel.core.errors import InferenceError
from samlabel.inference.api import Box, ImageEmbedding, Point, Prediction, Predictor
from samlabel.inference.onnx_folder import OnnxModelFolder
from samlabel.inference.ort_sessions import open_session
from samlabel.inference.prompts import build_prompt_arrays, decoder_mask_input, select_outputs
from samlabel.inference.sam2_graphs import decode_sam2, encode_sam2
from samlabel.inference.transforms import preprocess


def _image_side_feeds(embedding: ImageEmbedding) -> dict[str, np.ndarray]:
    """The per-click graph's inputs from the per-image graph's outputs (see
    :mod:`samlabel.inference.onnx_export`): the tokens where the folder's graphs give them,
    else the embedding (folders exported before format 4)."""
    keys, values = embedding.extras["layer0_kv"]
    feeds = {"layer0_keys": keys, "layer0_values": values}
    tokens = embedding.extras.get("image_tokens")
    if tokens is None:
        feeds["image_embeddings"] = embedding.features
    else:
        feeds["image_tokens"], feeds["image_tokens_pe"] = tokens
    return feeds


class OnnxPredictor(Predictor):
    """SAM in ONNX Runtime on the CPU.

    Sessions are thread-safe, and no per-image state is kept, so one instance serves the
    background encoder and the per-click decoder at the same time.
    """

    backend = "onnxruntime"

    def __init__(
        self,
        folder: OnnxModelFolder,
        threads: int | None = None,
        decoder_precision: str = "fp32",
    ) -> None:
        """Open the sessions of ``folder``.

        Args:
            folder: a checked folder of exported ONNX files.
            threads: CPU threads per session (default: ONNX Runtime's choice, all cores).
            decoder_precision: ``"fp32"`` or ``"int8"`` (a dynamically quantised per-click
                decoder: faster, slightly different masks; see ``samlabel bench``).
        """
        self.folder = folder
        self.model_name = folder.model_name
        self.family = folder.family
        self.model_id = folder.model_id
        self.device = "cpu"
        threads = threads or int(os.environ.get("SAMLABEL_THREADS", "0")) or None
        self._encoder = open_session(folder.files["encoder"], threads, "encoder")
        self._decoder = open_session(folder.files["decoder"], threads, "per_click")
        # The split decoder: prompt-independent work once per image, the rest per click.
        self._decoder_image = None
        self._decoder_prompt = None
        if "decoder_image" in folder.files and "decoder_prompt" in folder.files:
            self._decoder_image = open_session(folder.files["decoder_image"], threads, "per_image")
            prompt_path = folder.files["decoder_prompt"]
            if decoder_precision == "int8":
                from samlabel.inference.quantize import ensure_int8_decoder

                prompt_path = ensure_int8_decoder(prompt_path)
            elif decoder_precision != "fp32":
                raise InferenceError(f"unknown decoder precision {decoder_precision!r}")
            self._decoder_prompt = open_session(prompt_path, threads, "per_click")
        self.decoder_precision = decoder_precision

    def encode(self, image: np.ndarray) -> ImageEmbedding:
        """Embedding of ``image`` (``HxW`` or ``HxWxC``, uint8 or uint16)."""
        if self.folder.family == "sam2":
            embedding = encode_sam2(self._encoder, image)
        else:
            tensor, input_size = preprocess(image)
            (features,) = self._encoder.run(None, {"image": tensor})
            embedding = ImageEmbedding(
                features=np.ascontiguousarray(features, dtype=np.float32),
                original_size=(int(image.shape[0]), int(image.shape[1])),
                input_size=input_size,
            )
        self.prepare(embedding)
        return embedding

    def run_encoder(self, tensor: np.ndarray) -> list[np.ndarray]:
        """The encoder graph on an already preprocessed ``(1, 3, 1024, 1024)`` float32 input.

        For callers with a preprocessing of their own (SAM 2 propagation resizes video
        frames as Meta's video predictor does). SAM 2: ``[embedding (1, 256, 64, 64) with
        no_mem_embed, high_res_s0 (1, 32, 256, 256), high_res_s1 (1, 64, 128, 128)]``.
        """
        feeds = {"image": np.ascontiguousarray(tensor, dtype=np.float32)}
        return [np.asarray(a) for a in self._encoder.run(None, feeds)]

    def prepare(self, embedding: ImageEmbedding) -> None:
        """Compute the decoder's per-image work (once; cheap, but better off the GUI thread).

        Embeddings loaded from the disk cache arrive without it; the first click computes it.
        """
        if self._decoder_image is None or "layer0_kv" in embedding.extras:
            return
        outputs = self._decoder_image.run(None, {"image_embeddings": embedding.features})
        embedding.extras["layer0_kv"] = (outputs[0], outputs[1])
        if len(outputs) == 4:  # SAM 1 from format 4: the image tokens, and plus their encoding
            embedding.extras["image_tokens"] = (outputs[2], outputs[3])

    def decode(
        self,
        embedding: ImageEmbedding,
        points: Sequence[Point] | None = None,
        box: Box | None = None,
        mask_input: np.ndarray | None = None,
        multimask: bool = True,
    ) -> Prediction:
        """Masks for prompts; see :meth:`Predictor.decode`."""
        if self.folder.family == "sam2":
            if mask_input is None:
                self.prepare(embedding)
            return decode_sam2(
                self._decoder, embedding, points, box, mask_input, multimask, self._decoder_prompt
            )
        coords, labels = build_prompt_arrays(
            points, box, embedding.original_size, embedding.input_size
        )
        if coords.shape[1] == 0:
            # No prompt at all: the exported graphs need one token; a padding point adds
            # nothing but the "not a point" embedding (Meta's ONNX demo does the same).
            coords = np.zeros((1, 1, 2), np.float32)
            labels = np.full((1, 1), -1.0, np.float32)
        if mask_input is None and self._decoder_prompt is not None:
            self.prepare(embedding)
            feeds = _image_side_feeds(embedding)
            feeds["point_coords"], feeds["point_labels"] = coords, labels
            scores, low_res = self._decoder_prompt.run(None, feeds)
            return self._prediction(embedding, scores, low_res, multimask)
        mask, has_mask = decoder_mask_input(mask_input)
        feeds = {
            "image_embeddings": embedding.features,
            "point_coords": coords,
            "point_labels": labels,
            "mask_input": mask,
            "has_mask_input": has_mask,
        }
        scores, low_res = self._decoder.run(None, feeds)
        return self._prediction(embedding, scores, low_res, multimask)

    def decode_batch(
        self, embedding: ImageEmbedding, points: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """See :meth:`Predictor.decode_batch`: one run of ``decoder_batch.onnx`` per batch.

        A model folder without that graph (see :mod:`samlabel.inference.automatic_export`)
        decodes one prompt set at a time.
        """
        graph = self._batch_graph()
        if graph is None:
            return super().decode_batch(embedding, points)
        from samlabel.inference.automatic_batch import batch_prompt_arrays

        coords, labels = batch_prompt_arrays(points, embedding.original_size, embedding.input_size)
        self.prepare(embedding)
        keys, values = embedding.extras["layer0_kv"]
        scores, low_res = graph.run(
            None,
            {
                "image_embeddings": embedding.features,
                "layer0_keys": keys,
                "layer0_values": values,
                "point_coords": coords,
                "point_labels": labels,
            },
        )
        return (
            np.ascontiguousarray(low_res[:, 1:], dtype=np.float32),
            np.ascontiguousarray(scores[:, 1:], dtype=np.float32),
        )

    def _batch_graph(self):
        """The batch decoder session (opened on first use), or None when not exported."""
        if getattr(self, "_decoder_batch", None) is None:
            if self._decoder_image is None:
                return None
            from samlabel.inference.automatic_export import find_batch_decoder

            path = find_batch_decoder(self.folder.root)
            if path is None:
                return None
            if getattr(self, "batch_decoder_precision", self.decoder_precision) == "int8":
                from samlabel.inference.quantize import ensure_int8_decoder

                path = ensure_int8_decoder(path)
            self._decoder_batch = self._open_batch_graph(path)
        return self._decoder_batch

    def _open_batch_graph(self, path):
        threads = int(os.environ.get("SAMLABEL_THREADS", "0")) or None
        return open_session(path, threads, "per_click")

    def use_int8_batch_decoder(self, enabled: bool = True) -> None:
        """Decode batches with the int8 copy of the batch graph (faster, slightly different)."""
        self.batch_decoder_precision = "int8" if enabled else "fp32"
        self._decoder_batch = None

    @staticmethod
    def _prediction(
        embedding: ImageEmbedding, scores: np.ndarray, low_res: np.ndarray, multimask: bool
    ) -> Prediction:
        scores, low_res = select_outputs(scores, low_res, multimask)
        return Prediction(
            scores=scores,
            low_res_logits=low_res,
            original_size=embedding.original_size,
            input_size=embedding.input_size,
        )
