"""``samlabel auto --ray``: segment everything for a folder on a Ray cluster.

The encode stage of :mod:`samlabel.cluster.ray_encode` (GPU actors where there are GPUs), then
a proposals stage on CPU actors (:class:`ProposalMaker`: the automatic mask generator on each
image's embedding; crops of ``--crop-n-layers`` are encoded there too). The driver
(:mod:`samlabel.commands.auto`) adds each image's proposals to the one annotations file through
the store, with the same resume marker as a local run, so an image is added once however often
a retried worker sends it.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from samlabel.cluster.images import whole_image_key
from samlabel.cluster.ray_encode import EncodePlan, embedding_of, encoded_dataset, plan


@dataclass(frozen=True)
class ImageProposals:
    """One image's outcome: its masks (``GeneratedMask`` values) and embedding, or an error."""

    path: Path
    error: str
    masks: list
    embedding: Any
    model_id: str
    model_name: str
    sha256: str

    @property
    def cache_key(self):
        """Where the embedding goes in the cache (the window's key of the whole image)."""
        return whole_image_key(self.model_id, self.sha256)


class ProposalMaker:
    """An actor of the proposals stage: the generator, with its model loaded once."""

    def __init__(self, encode_plan: EncodePlan, params: dict[str, Any], int8: bool) -> None:
        from samlabel.inference import load_predictor
        from samlabel.inference.automatic import AutomaticMaskGenerator
        from samlabel.inference.onnx_backend import OnnxPredictor

        predictor = load_predictor(
            encode_plan.model_path,
            backend=encode_plan.backend,
            threads=encode_plan.threads,
            calibrate=False,
        )
        if isinstance(predictor, OnnxPredictor):
            if Path(encode_plan.model_path).is_file():
                from samlabel.inference.automatic_export import ensure_batch_decoder

                ensure_batch_decoder(predictor.folder.root, encode_plan.model_path)
            if int8:
                predictor.use_int8_batch_decoder()
        self.predictor = predictor
        self.generator = AutomaticMaskGenerator(predictor, output_mode="coco_rle", **params)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Encoded rows → the same rows with ``masks`` (pickled list) instead of pixels."""
        masks, errors = [], list(batch["error"])
        for i, error in enumerate(errors):
            if error:
                masks.append(b"")
                continue
            row = {key: batch[key][i] for key in ("features", "shape", "original_size")}
            row["input_size"] = batch["input_size"][i]
            embedding = embedding_of(row)
            h, w = int(batch["h"][i]), int(batch["w"][i])
            rgb = np.frombuffer(batch["pixels"][i], dtype=np.uint8).reshape(h, w, 3)

            def encode(crop, box, whole=(0, 0, w, h), embedding=embedding):
                # The whole image was encoded upstream; crop layers are encoded here.
                return embedding if tuple(box) == whole else self.predictor.encode(crop)

            try:
                found = self.generator.generate_masks(rgb, encode=encode)
            except Exception as failure:  # one image's failure must not fail the run
                errors[i] = f"{Path(str(batch['path'][i])).name}: proposals failed: {failure}"
                masks.append(b"")
                continue
            masks.append(pickle.dumps(found))
        kept = {k: v for k, v in batch.items() if k not in ("pixels", "h", "w")}
        return {
            **kept,
            "error": np.asarray(errors, dtype=object),
            "masks": np.asarray(masks, dtype=object),
        }


def proposals_on_ray(
    items: list[dict[str, str]], model_path: Path, args: Any, params: dict[str, Any]
) -> Iterator[ImageProposals]:
    """Each image of ``items`` (``{path, sha256}``) with its proposals, as workers finish."""
    from samlabel.cluster.ray_session import connect

    if not items:
        return
    ray = connect(args.ray)
    encode_plan = plan(ray, model_path, args.backend, args.workers, args.batch_size, True)
    dataset = encoded_dataset(ray, items, encode_plan).map_batches(
        ProposalMaker,
        fn_constructor_kwargs={
            "encode_plan": encode_plan,
            "params": params,
            "int8": bool(getattr(args, "int8_decoder", False)),
        },
        batch_size=1,
        batch_format="numpy",
        concurrency=encode_plan.workers,
        num_cpus=0.25,
    )
    for row in dataset.iter_rows():
        error = str(row["error"])
        yield ImageProposals(
            path=Path(str(row["path"])),
            error=error,
            masks=[] if error else pickle.loads(row["masks"]),
            embedding=None if error else embedding_of(row),
            model_id=str(row["model_id"]),
            model_name=str(row["model_name"]),
            sha256=str(row["sha256"]),
        )
