"""Convert a torch module to one ONNX file: the two torch exporters, tried in turn, quietly.

Shared by the SAM 1 and SAM 2 exports (:mod:`samlabel.inference.onnx_export`,
:mod:`samlabel.inference.sam2_export`) and the benchmark. torch is imported only inside the
functions.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

import numpy as np

from samlabel.core.errors import InferenceError


def convert_to_onnx(
    module, args, path: Path, input_names, output_names, points_axis, batch_axis=None
) -> None:
    """Write ``module`` to ``path`` as ONNX, quietly.

    The TorchScript-based exporter goes first: on these models it is about four times faster
    than the torch.export-based one (seconds instead of a minute for MobileSAM on a laptop)
    and its graphs run as fast. torch has deprecated it, so when it fails or is gone, the
    torch.export-based exporter takes over. Models over 2 GB (ViT-H) get their weights in a
    file beside the graph, inside the same folder.

    ``points_axis`` maps argument index -> dimension that is the (dynamic) number of points;
    ``batch_axis`` likewise for a dynamic number of prompt sets (SAM 2's decoder).
    """
    import torch

    module.eval()
    exporter_logger = logging.getLogger("torch.onnx")
    old_level = exporter_logger.level
    exporter_logger.setLevel(logging.ERROR)
    errors: list[str] = []
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            torch.no_grad(),
        ):
            warnings.simplefilter("ignore")
            for exporter in (_export_torchscript, _export_dynamo):
                try:
                    exporter(module, args, path, input_names, output_names, points_axis, batch_axis)
                    return
                except Exception as error:  # exporters raise many types; try the next one
                    errors.append(f"{exporter.__name__.removeprefix('_export_')}: {error}")
    finally:
        exporter_logger.setLevel(old_level)
    raise InferenceError("converting the model to ONNX failed (" + "; ".join(errors) + ")")


def _export_torchscript(
    module, args, path, input_names, output_names, points_axis, batch_axis=None
) -> None:
    import torch

    dynamic_axes = None
    if points_axis:
        dynamic_axes = {input_names[i]: {points_axis[i]: "num_points"} for i in points_axis}
        for i, axis in (batch_axis or {}).items():
            dynamic_axes.setdefault(input_names[i], {})[axis] = "num_prompts"
        if batch_axis:
            dynamic_axes.update({name: {0: "num_prompts"} for name in output_names})
    torch.onnx.export(
        module,
        args,
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=input_names,
        output_names=output_names,
        dynamic_axes=dynamic_axes,
    )


def _export_dynamo(
    module, args, path, input_names, output_names, points_axis, batch_axis=None
) -> None:
    import torch

    dynamic_shapes = None
    if points_axis:
        points = torch.export.Dim("num_points", min=1, max=256)
        dynamic_shapes = [
            {points_axis[i]: points} if i in points_axis else {} for i in range(len(args))
        ]
        if batch_axis:
            prompts = torch.export.Dim("num_prompts", min=1, max=1024)
            for i, axis in batch_axis.items():
                dynamic_shapes[i][axis] = prompts
    size = sum(p.numel() * p.element_size() for p in module.parameters())
    torch.onnx.export(
        module,
        args,
        str(path),
        dynamo=True,
        input_names=input_names,
        output_names=output_names,
        dynamic_shapes=dynamic_shapes,
        verbose=False,
        external_data=size > (1 << 31) - (1 << 26),
        optimize=True,
    )


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    scale = float(np.abs(expected).max()) or 1.0
    return float(np.abs(actual - expected).max()) / scale
