"""The Ray Data pipeline that turns image paths into embeddings.

read and decode (CPU tasks: :func:`samlabel.cluster.images.prepare_image`, the window's own
preparation) → encode in batches on an actor pool (:class:`Encoder`: each actor loads the model
once; one GPU per actor where the cluster has GPUs) → rows back to the driver.

Workers read the images by path, so on a cluster of several machines the folder must be on
storage every node mounts. Fault tolerance is Ray Data's own (its defaults: decode tasks are
retried, a dead encoder actor is restarted and its unfinished batch run again, without limit):
a worker process that dies loses only the batch it was working on, and a batch's rows reach
the driver only once its task has finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class EncodePlan:
    """How the encoders run: model, backend, actors, batch and resources of each."""

    model_path: str
    backend: str
    workers: int
    batch_size: int
    gpus_per_worker: float
    cpus_per_worker: float
    threads: int
    #: Pass each image's pixels on with its embedding (the proposals stage needs them).
    keep_pixels: bool = False


def plan(
    ray: Any,
    model_path: Path,
    backend: str,
    workers: int | None,
    batch_size: int,
    keep_pixels: bool = False,
) -> EncodePlan:
    """An :class:`EncodePlan` fitted to the cluster: one actor per GPU when it has GPUs."""
    from samlabel.cluster.ray_session import cluster_shape

    cpus, gpus = cluster_shape(ray)
    if workers is None:
        workers = max(1, int(gpus))
    workers = max(1, workers)
    gpus_per_worker = 1.0 if gpus >= 1 else 0.0
    # Leave room for the decode tasks, else actors holding every CPU would starve them.
    cpus_per_worker = max(0.1, min(1.0, (cpus - 0.5) / workers))
    threads = max(1, int(cpus // workers))
    return EncodePlan(
        str(model_path),
        backend,
        workers,
        max(1, batch_size),
        gpus_per_worker,
        cpus_per_worker,
        threads,
        keep_pixels,
    )


def decode_row(row: dict[str, Any]) -> dict[str, Any]:
    """``{path, sha256}`` → the prepared pixels (as bytes) or the one-sentence error."""
    from samlabel.cluster.images import prepare_image
    from samlabel.core.errors import SamlabelError

    out = {"path": row["path"], "sha256": row["sha256"], "error": "", "pixels": b"", "h": 0, "w": 0}
    try:
        rgb = prepare_image(row["path"])
    except SamlabelError as error:
        out["error"] = str(error)
    except OSError as error:
        out["error"] = f"{Path(row['path']).name} cannot be read ({error.strerror or error})."
    else:
        out.update(pixels=rgb.tobytes(), h=rgb.shape[0], w=rgb.shape[1])
    return out


class Encoder:
    """An actor of the encode stage: loads the model once, encodes batches of images."""

    def __init__(self, encode_plan: EncodePlan) -> None:
        from samlabel.inference import load_predictor
        from samlabel.inference.embedding_cache import model_key

        if encode_plan.gpus_per_worker == 0 and encode_plan.backend == "torch":
            import torch

            torch.set_num_threads(encode_plan.threads)
        # No calibration on workers: measuring backends would cost minutes on each one.
        self.predictor = load_predictor(
            encode_plan.model_path,
            backend=encode_plan.backend,
            threads=encode_plan.threads,
            calibrate=False,
        )
        precision = getattr(self.predictor, "precision", "fp32")
        self.model_id = model_key(encode_plan.model_path, precision)
        self.encoded = 0
        self.keep_pixels = encode_plan.keep_pixels

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Rows of :func:`decode_row` → rows with ``features`` (bytes) and sizes."""
        from samlabel.cluster.crash_hook import maybe_crash

        features, shapes, originals, inputs = [], [], [], []
        errors = list(batch["error"])
        for i, error in enumerate(errors):
            if error:
                features.append(b"")
                shapes.append("")
                originals.append((0, 0))
                inputs.append((0, 0))
                continue
            h, w = int(batch["h"][i]), int(batch["w"][i])
            rgb = np.frombuffer(batch["pixels"][i], dtype=np.uint8).reshape(h, w, 3)
            try:
                embedding = self.predictor.encode(rgb)
            except Exception as failure:  # one image's failure must not fail the whole run
                errors[i] = f"{Path(str(batch['path'][i])).name} could not be encoded: {failure}"
                features.append(b"")
                shapes.append("")
                originals.append((0, 0))
                inputs.append((0, 0))
                continue
            array = np.ascontiguousarray(embedding.features, dtype=np.float32)
            features.append(array.tobytes())
            shapes.append(",".join(str(v) for v in array.shape))
            originals.append(tuple(embedding.original_size))
            inputs.append(tuple(embedding.input_size))
            self.encoded += 1
            maybe_crash(self.encoded)
        out = {
            "path": np.asarray(batch["path"]),
            "sha256": np.asarray(batch["sha256"]),
            "error": np.asarray(errors, dtype=object),
            "model_id": np.asarray([self.model_id] * len(errors), dtype=object),
            "model_name": np.asarray([self.predictor.model_name] * len(errors), dtype=object),
            "features": np.asarray(features, dtype=object),
            "shape": np.asarray(shapes, dtype=object),
            "original_size": np.asarray(originals, dtype=np.int64).reshape(-1, 2),
            "input_size": np.asarray(inputs, dtype=np.int64).reshape(-1, 2),
        }
        if self.keep_pixels:
            out.update(pixels=batch["pixels"], h=batch["h"], w=batch["w"])
        return out


def encoded_dataset(ray: Any, items: list[dict[str, str]], encode_plan: EncodePlan):
    """The lazy Ray Dataset of encoded rows for ``items`` (``{path, sha256}`` each)."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the driver shows one bar of its own
    blocks = max(1, min(len(items), 4 * encode_plan.workers * 4))
    dataset = ray.data.from_items(items, override_num_blocks=blocks)
    dataset = dataset.map(decode_row, num_cpus=0.5)
    return dataset.map_batches(
        Encoder,
        fn_constructor_kwargs={"encode_plan": encode_plan},
        batch_size=encode_plan.batch_size,
        batch_format="numpy",
        concurrency=encode_plan.workers,
        num_cpus=encode_plan.cpus_per_worker,
        num_gpus=encode_plan.gpus_per_worker or None,
    )


def embedding_of(row: dict[str, Any]):
    """The :class:`ImageEmbedding` carried by an encoded row."""
    from samlabel.inference.api import ImageEmbedding

    shape = tuple(int(v) for v in str(row["shape"]).split(","))
    features = np.frombuffer(row["features"], dtype=np.float32).reshape(shape).copy()
    original = tuple(int(v) for v in row["original_size"])
    input_size = tuple(int(v) for v in row["input_size"])
    return ImageEmbedding(features, original, input_size)  # type: ignore[arg-type]
