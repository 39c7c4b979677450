"""Seconds per propagated frame, and the memory of a long video session, in one run.

    python scripts/bench_propagation.py [--frames 8] [--models tiny,base_plus]
                                        [--video-frames 2000] [--video-propagate 30]
                                        [--keep-memory 8] [--threads N]

Speed: SAM 2.1 tiny and base+ (full-size networks, seeded random weights; speed does not
depend on the weight values) on ``--frames`` generated 480x640 frames, one object clicked on
frame 0 and propagated forward. The encoder runs in torch and in ONNX Runtime (the exported
graph, as the window runs it on a CPU); the memory (memory attention and memory encoder,
always torch) runs with the published configuration (7 memory frames, 4 attention layers)
and with the light one of the parity tests (3 frames, 1 layer). Encode and tracking are
timed separately; a propagated frame costs their sum. Tracking is the mean over the frames
after the prompted one (the memory fills up over the first 6).

Memory: a ``--video-frames`` MPEG-4 video (128x128) written with OpenCV into a temporary
folder, opened with the stack reader the window uses (64 MB of decoded frames, as the
window keeps), every frame read in turn, then ``--video-propagate`` frames propagated
(tiny, published memory, ONNX Runtime encoder) keeping memory for ``--keep-memory``
frames. Prints the resident memory (RSS) at each step and the propagator's memory bank.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

FRAME_SIZE = (480, 640)
VIDEO_SIDE = 128
#: Memory settings: name -> (memory frames, memory-attention layers).
MEMORIES = {"published (7 frames, 4 layers)": (7, 4), "light (3 frames, 1 layer)": (3, 1)}


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def make_frames(count: int, size: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
    """RGB uint8 frames: a textured background and a bright disc drifting across it."""
    rng = np.random.default_rng(seed)
    height, width = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    background = 90 + 40 * np.sin(xx / 29.0) * np.cos(yy / 17.0)
    frames = []
    for i in range(count):
        cx, cy = disc_centre(i, size)
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 < (min(size) / 6) ** 2
        base = background + 110 * disc
        rgb = np.stack([base, base * 0.7 + 40 * disc, 200 - 0.5 * base], axis=-1)
        frames.append(np.clip(rgb + rng.normal(0, 4, rgb.shape), 0, 255).astype(np.uint8))
    return frames


def disc_centre(index: int, size: tuple[int, int]) -> tuple[float, float]:
    height, width = size
    return width * (0.3 + 0.01 * (index % 40)), height * (0.5 + 0.004 * (index % 40))


def build_models(size: str):
    """``{memory name: video model}`` sharing one set of seeded random image weights."""
    import torch

    from samlabel.sam.sam2_model import HIERA_CONFIGS, Sam2Config
    from samlabel.sam.sam2_video import VideoConfig, build_sam2_video

    models = {}
    shared = None
    for name, (frames, layers) in MEMORIES.items():
        torch.manual_seed(0)
        model = build_sam2_video(
            Sam2Config(size, HIERA_CONFIGS[size]),
            VideoConfig(num_maskmem=frames, attention_layers=layers),
        ).eval()
        if shared is None:
            with torch.no_grad():  # random weights judge the object absent everywhere
                model.sam_mask_decoder.pred_obj_score_head.layers[2].bias.add_(6.0)
            shared = {k: v for k, v in model.state_dict().items() if not k.startswith("memory_")}
        else:
            own = model.state_dict()
            model.load_state_dict(
                {k: v for k, v in shared.items() if own[k].shape == v.shape}, strict=False
            )
        models[name] = model
    return models


def export_encoder(model, folder: Path):
    """The model's encoder exported to ONNX and opened in ONNX Runtime."""
    folder.mkdir(parents=True, exist_ok=True)
    from samlabel.inference.onnx_backend import OnnxPredictor
    from samlabel.inference.onnx_folder import open_onnx_folder
    from samlabel.inference.sam2_export import export_sam2_model

    export_sam2_model(model, folder, "bench", verify=False)
    return OnnxPredictor(open_onnx_folder(folder, check=False))


def time_encodes(source, count: int) -> tuple[float, list]:
    """Median seconds per frame of ``source.encode_embedding`` and the embeddings (one warm-up)."""
    source.encode_embedding(0)
    times, embeddings = [], []
    for index in range(count):
        start = time.perf_counter()
        embeddings.append(source.encode_embedding(index))
        times.append(time.perf_counter() - start)
    return statistics.median(times), embeddings


def time_tracking(model, embeddings: list, frame_size, keep: int | None = None) -> float:
    """Mean seconds per tracked frame (features given: the encoder is not timed here)."""
    from samlabel.inference.propagation import Propagator
    from samlabel.inference.propagation_frames import FrameFeatureSource, features_from_embedding

    def features(index: int):
        return features_from_embedding(embeddings[index], model)

    source = FrameFeatureSource(model, None, len(embeddings), frame_size, encode=features)
    propagator = Propagator(model, source, keep)
    x, y = disc_centre(0, frame_size)
    propagator.add_prompts(0, 1, [(x, y, 1)])
    times = []
    frames = propagator.propagate()
    next(frames)  # the prompted frame: its memory is encoded, nothing is tracked
    while True:
        start = time.perf_counter()
        if next(frames, None) is None:
            break
        times.append(time.perf_counter() - start)
    return statistics.mean(times)


def speed_rows(sizes: list[str], count: int, log: Callable[[str], None]) -> list[tuple]:
    from samlabel.inference.propagation_frames import FrameFeatureSource

    frames = make_frames(count, FRAME_SIZE)
    rows = []
    for size in sizes:
        log(f"{size}: building the models")
        models = build_models(size)
        first = next(iter(models.values()))
        encodes: dict[str, tuple[float, list]] = {}
        log(f"{size}: torch encode of {count} frames")
        torch_source = FrameFeatureSource(first, frames.__getitem__, count, FRAME_SIZE)
        encodes["torch"] = time_encodes(torch_source, count)
        with tempfile.TemporaryDirectory(prefix="bench-propagation-") as tmp:
            log(f"{size}: exporting the encoder to ONNX")
            onnx = export_encoder(first, Path(tmp))
            onnx_source = FrameFeatureSource(
                first, frames.__getitem__, count, FRAME_SIZE, run_encoder=onnx.run_encoder
            )
            log(f"{size}: ONNX Runtime encode of {count} frames")
            encodes["ONNX Runtime"] = time_encodes(onnx_source, count)
        for memory, model in models.items():
            log(f"{size}: tracking, {memory}")
            track = time_tracking(model, encodes["ONNX Runtime"][1], FRAME_SIZE)
            for backend, (encode, _) in encodes.items():
                rows.append((size, memory, backend, encode, track, encode + track))
    return rows


def write_video(path: Path, count: int) -> None:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (VIDEO_SIDE,) * 2)
    for frame in make_frames(count, (VIDEO_SIDE, VIDEO_SIDE), seed=3):
        writer.write(frame[:, :, ::-1])
    writer.release()


def memory_rows(count: int, propagate: int, keep: int, log: Callable[[str], None]) -> list:
    from samlabel.inference.propagation_backend import PropagationEngine
    from samlabel.io.images.display import to_display_rgb
    from samlabel.io.stacks import open_stack

    rows = [("start (model not built)", rss_mb(), None)]
    with tempfile.TemporaryDirectory(prefix="bench-propagation-") as tmp:
        path = Path(tmp) / "video.mp4"
        log(f"writing a {count}-frame video")
        write_video(path, count)
        model = build_models("tiny")["published (7 frames, 4 layers)"]
        onnx = export_encoder(model, Path(tmp) / "onnx")
        engine = PropagationEngine(model, onnx.run_encoder, "onnxruntime", "bench", None)
        rows.append(("tiny model built and exported", rss_mb(), None))
        with open_stack(path, budget_bytes=64 * 2**20) as stack:
            rows.append((f"video opened ({len(stack)} frames)", rss_mb(), None))
            log("reading every frame")
            start = time.perf_counter()
            for index in range(len(stack)):
                to_display_rgb(stack.loaded(index))
            per_frame = (time.perf_counter() - start) / len(stack) * 1000
            rows.append((f"every frame read ({per_frame:.1f} ms each)", rss_mb(), None))
            propagator = engine.stack_propagator(stack, keep_memory_frames=keep)
            x, y = disc_centre(0, (VIDEO_SIDE, VIDEO_SIDE))
            propagator.add_prompts(0, 1, [(x, y, 1)])
            log(f"propagating over {propagate} frames")
            # RSS after the first tracked frames, once the memory window is full, and at
            # the end: growth after the window fills would be a leak, not a peak.
            marks = {2, model.video.num_maskmem + 1, propagate // 2, propagate}
            for done, _ in enumerate(propagator.propagate(max_frames=propagate), start=0):
                if done in marks:
                    label = f"{done} frames propagated (memory kept for {keep})"
                    rows.append((label, rss_mb(), propagator.memory_bytes()))
                    log(label)
    return rows


def print_speed(rows: list[tuple], frames: int) -> None:
    print(f"\nSeconds per propagated frame ({frames} frames of {FRAME_SIZE[1]}x{FRAME_SIZE[0]}, ")
    print("one object; tracking timed with the ONNX Runtime features):\n")
    print("| model | memory | encoder | encode s | track s | total s/frame |")
    print("| --- | --- | --- | --- | --- | --- |")
    for size, mem, backend, encode, track, total in rows:
        print(f"| {size} | {mem} | {backend} | {encode:.2f} | {track:.2f} | {total:.2f} |")
    print(flush=True)


def print_memory(rows: list[tuple], frames: int) -> None:
    print(f"\nMemory of a {frames}-frame video session:\n")
    print("| step | RSS MB | memory bank MB |")
    print("| --- | --- | --- |")
    for step, rss, bank in rows:
        bank_text = "" if bank is None else f"{bank / 2**20:.1f}"
        print(f"| {step} | {rss:.0f} | {bank_text} |")
    print(flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--models", default="tiny,base_plus")
    parser.add_argument("--video-frames", type=int, default=2000)
    parser.add_argument("--video-propagate", type=int, default=30)
    parser.add_argument("--keep-memory", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: all)")
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()

    def log(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {text}", flush=True)

    print(f"CPU threads: {torch.get_num_threads()} (of {os.cpu_count()} cores)", flush=True)
    sizes = [s for s in args.models.split(",") if s]
    if sizes and args.frames > 1:
        print_speed(speed_rows(sizes, args.frames, log), args.frames)
    if args.video_frames > 0:
        rows = memory_rows(args.video_frames, args.video_propagate, args.keep_memory, log)
        print_memory(rows, args.video_frames)
    print(f"\nTotal run time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
