"""ONNX Runtime sessions with options chosen per graph.

SAM runs three kinds of graph, and they want different things from ONNX Runtime:

- ``"encoder"``: one long run per image (seconds) in the background;
- ``"per_click"``: the decoder, tens of milliseconds, a few times a second at most, while
  the encoder may be encoding the next images in the same process;
- ``"per_image"``: the decoder's prompt-independent part, once per image.

By default ONNX Runtime's worker threads spin (busy-wait) after each parallel section so
the next one starts sooner. For the short decoder runs on a laptop that is the wrong trade:
the spinning threads take the cores from the encoder's prefetch and from the click's own
thread whenever the machine has anything else to do, and a click is never followed at once
by another run of the same session. Measured on a busy 2-core machine (``samlabel bench``
and interleaved runs of both settings in one process): the ViT-B decoder's median click
took about 1.5x longer with spinning. The encoder keeps the default: its parallel sections
follow each other back to back, where spinning is what it is for.

One graph optimisation is turned off for the per-click graphs: ONNX Runtime fuses the bias
add and the GELU after the decoder's second upscaling into one BiasGelu kernel, which ran
the 2 M values of a click at half the speed of its own Gelu kernel (the same values, bit for
bit; ViT-B click decode 12.3 -> 11.7 ms, interleaved runs on 2 cores).
"""

from __future__ import annotations

from pathlib import Path

from samlabel.core.errors import InferenceError

#: Graph kinds and whether their worker threads may spin between parallel sections.
_SPIN = {"encoder": True, "per_click": False, "per_image": False}
#: Graph optimisations left out per kind (see the module docstring).
_LEFT_OUT = {"encoder": (), "per_click": ("BiasGeluFusion",), "per_image": ()}


def session_options(kind: str, threads: int | None):
    """``onnxruntime.SessionOptions`` for a graph of ``kind`` (see the module docstring).

    Args:
        kind: ``"encoder"``, ``"per_click"`` or ``"per_image"``.
        threads: worker threads per session, or None for ONNX Runtime's default (one per
            physical core).
    """
    import onnxruntime as ort

    if kind not in _SPIN:
        raise ValueError(f"unknown graph kind {kind!r}; expected one of {sorted(_SPIN)}")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if _SPIN[kind] else "0")
    return options


def open_session(path: str | Path, threads: int | None, kind: str = "per_click"):
    """An ``onnxruntime.InferenceSession`` on the CPU for the graph at ``path``.

    Raises:
        InferenceError: ONNX Runtime could not load the file.
    """
    import onnxruntime as ort

    options = session_options(kind, threads)
    providers = ["CPUExecutionProvider"]
    if _LEFT_OUT[kind]:
        try:
            return ort.InferenceSession(
                str(path), options, providers=providers, disabled_optimizers=_LEFT_OUT[kind]
            )
        except Exception:  # a build without that optimiser: load the graph as it is
            options = session_options(kind, threads)
    try:
        return ort.InferenceSession(str(path), options, providers=providers)
    except Exception as error:  # ORT raises its own exception types per failure
        raise InferenceError(f"ONNX Runtime could not load {path}: {error}", path) from None
