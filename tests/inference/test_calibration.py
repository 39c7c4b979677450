"""``backend="auto"`` by measurement, the quality gate, and the overrides that skip both."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from samlabel.core.errors import InferenceError
from samlabel.inference import calibration, candidate_measure, load_predictor
from samlabel.inference import openvino_backend as ovb
from samlabel.inference.calibration import Candidate
from samlabel.inference.onnx_backend import OnnxPredictor
from samlabel.inference.onnx_folder import open_onnx_folder
from samlabel.inference.precision_gate import check_candidate, gate_image, reference_outputs
from tests.inference import faulty_candidates as faulty
from tests.inference.tiny_models import write_tiny_checkpoint

pytest.importorskip("openvino")

ORT = Candidate("onnxruntime")
OV32 = Candidate("openvino", "fp32", "CPU")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    # A seed of its own: the ONNX export cache is shared by the session, and other tests
    # count exports of the seed-0 model.
    return write_tiny_checkpoint(tmp_path_factory.mktemp("calibration") / "tiny.pth", seed=7)


@pytest.fixture(scope="module")
def folder(checkpoint, onnx_export_root):
    from samlabel.inference.onnx_export import ensure_onnx

    # Module fixtures run before the per-test private folders: keep the export (and its
    # digest index) in the session's cache, never the user's.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SAMLABEL_CACHE_DIR", str(onnx_export_root.parent))
        exported = ensure_onnx(checkpoint, cache_root=onnx_export_root)
    return open_onnx_folder(exported, check=False)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch, folder):
    """No stored calibration; the exported folder and OpenVINO's compiled models are kept.

    Calibration is kept tiny here: three timed decodes instead of ten.
    """
    monkeypatch.setattr(calibration, "calibration_root", lambda: tmp_path / "calibration")
    monkeypatch.setattr(candidate_measure, "DECODE_RUNS", 3)
    return folder


def _no_calibration(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("calibration ran although it should have been skipped")

    monkeypatch.setattr(calibration, "calibrate", refuse)


def _fixed_times(monkeypatch, encode_s: dict[str, float]):
    """Replace the timing (not the gate) with fixed numbers per backend label (in this process:
    calibrate with isolate=False)."""

    def fake(predictor, image, measurement, warm_up, warm_up_s):
        measurement.encode_s = encode_s[measurement.candidate.label()]
        measurement.decode_ms = 10.0

    monkeypatch.setattr(candidate_measure, "_measure", fake)


def test_auto_measures_once_per_model_and_machine_and_says_so(fresh_cache, monkeypatch):
    folder = fresh_cache
    progress = []
    first = load_predictor(folder.root, progress=lambda m, f: progress.append(m))
    assert first.describe().endswith("(chosen by measurement)")
    assert any("Measuring OpenVINO fp32 on CPU" in m for m in progress)

    stored = calibration.load_calibration(folder.model_id)
    assert stored is not None
    labels = [m.candidate for m in stored.measurements]
    assert labels[:2] == [ORT, OV32]
    assert all(m.passed and m.encode_s > 0 and m.decode_ms > 0 for m in stored.measurements[:2])
    assert stored.machine["cpu"] == calibration.cpu_name()
    assert stored.machine["openvino"] == ovb.openvino_version()
    best = min(stored.measurements, key=calibration.Measurement.cost)
    assert stored.choice == best.candidate
    assert first.backend == stored.choice.backend
    assert calibration.choice_for_source(folder.root) == stored.choice

    _no_calibration(monkeypatch)  # the second start reads the stored choice
    second = load_predictor(folder.root)
    assert second.describe() == first.describe()

    # A different machine (here: another OpenVINO version) measures again.
    monkeypatch.setattr(ovb, "openvino_version", lambda: "0.0-other")
    assert calibration.load_calibration(folder.model_id) is None


def test_fastest_candidate_that_passes_the_gate_wins(fresh_cache, monkeypatch):
    _fixed_times(monkeypatch, {ORT.label(): 2.0, OV32.label(): 0.5})
    result = calibration.calibrate(fresh_cache, options=[ORT, OV32], isolate=False)
    assert result.choice == OV32
    _fixed_times(monkeypatch, {ORT.label(): 0.5, OV32.label(): 2.0})
    result = calibration.calibrate(fresh_cache, options=[ORT, OV32], isolate=False)
    assert result.choice == ORT
    assert "ONNX Runtime fp32 on CPU: encode 0.50 s" in result.summary()

    path = calibration.calibration_path(result.model_id)
    assert json.loads(path.read_text())["choice"]["backend"] == "onnxruntime"
    path.write_text("{not json")  # a damaged file is measured again, not trusted
    assert calibration.load_calibration(result.model_id) is None


def test_gate_refuses_a_candidate_whose_embedding_is_off(fresh_cache, monkeypatch):
    """A fast candidate with a 5% error in its embedding is refused and not chosen."""

    def corrupted(folder, candidate, threads):
        predictor = calibration.make_predictor(folder, candidate, threads)
        if candidate.backend == "openvino":
            encode = predictor.encode

            def off_by_five_percent(image):
                embedding = encode(image)
                peak = np.abs(embedding.features).max()
                noise = np.random.default_rng(0).standard_normal(embedding.features.shape)
                embedding.features[...] += (0.05 * peak * np.sign(noise)).astype(np.float32)
                return embedding

            predictor.encode = off_by_five_percent
        return predictor

    _fixed_times(monkeypatch, {ORT.label(): 2.0, OV32.label(): 0.1})
    result = calibration.calibrate(fresh_cache, options=[ORT, OV32], build=corrupted, isolate=False)
    assert result.choice == ORT
    refused = result.measurements[1]
    assert not refused.passed
    assert refused.embedding_error == pytest.approx(0.05, rel=0.2)
    assert "embedding differs" in refused.note
    assert "refused" in result.summary()


def _perturbed_copy(folder, tmp_path, scale: float):
    """A copy of the ONNX folder whose decoder weights carry ``scale`` relative noise."""
    import onnx
    from onnx import numpy_helper

    copy = tmp_path / "corrupted"
    shutil.copytree(folder.root, copy)
    rng = np.random.default_rng(0)
    for name in ("decoder.onnx", "decoder_prompt.onnx"):
        model = onnx.load(str(copy / name))
        for tensor in model.graph.initializer:
            weights = numpy_helper.to_array(tensor)
            if weights.dtype != np.float32 or weights.size < 64:
                continue
            noise = rng.standard_normal(weights.shape).astype(np.float32)
            tensor.CopyFrom(numpy_helper.from_array(weights + scale * noise * weights, tensor.name))
        onnx.save(model, str(copy / name))
    return open_onnx_folder(copy)


def test_gate_refuses_a_model_with_perturbed_decoder_weights(fresh_cache, tmp_path):
    reference_predictor = OnnxPredictor(fresh_cache)
    reference = reference_outputs(reference_predictor)
    same = check_candidate(reference, reference_predictor, reference_predictor.encode(gate_image()))
    assert same.passed and same.embedding_error == 0.0 and same.mask_agreement == 1.0

    broken = ovb.OpenVinoPredictor(_perturbed_copy(fresh_cache, tmp_path, 0.5))
    verdict = check_candidate(reference, broken, broken.encode(gate_image()))
    assert verdict.embedding_error < 1e-3  # the encoder is intact
    assert not verdict.passed
    assert verdict.mask_agreement < 0.99
    assert "masks agree on only" in verdict.reason


def test_a_candidate_that_fails_to_load_is_skipped(fresh_cache, monkeypatch):
    def gpu_gone(folder, candidate, threads):
        if candidate.device == "GPU":
            raise InferenceError("OpenVINO has no device 'GPU' here")
        return calibration.make_predictor(folder, candidate, threads)

    _fixed_times(monkeypatch, {ORT.label(): 1.0, OV32.label(): 2.0})
    gpu = Candidate("openvino", "fp16", "GPU")
    result = calibration.calibrate(fresh_cache, options=[ORT, gpu], build=gpu_gone, isolate=False)
    assert result.choice == ORT
    assert result.measurements[1].note.startswith("failed: OpenVINO has no device")


def test_an_explicit_backend_or_precision_skips_calibration(fresh_cache, monkeypatch):
    _no_calibration(monkeypatch)
    ov = load_predictor(fresh_cache.root, backend="openvino")
    assert isinstance(ov, ovb.OpenVinoPredictor)
    assert ov.describe().endswith("OpenVINO fp32 on CPU")
    ort = load_predictor(fresh_cache.root, backend="onnxruntime")
    assert type(ort) is OnnxPredictor and "measurement" not in ort.describe()
    with pytest.raises(InferenceError, match="fp32 only"):
        load_predictor(fresh_cache.root, backend="onnxruntime", precision="bf16")
    with pytest.raises(InferenceError, match="unknown precision"):
        load_predictor(fresh_cache.root, backend="openvino", precision="int4")
    assert not calibration.calibration_root().exists()


def test_bf16_only_where_the_processor_computes_it(fresh_cache):
    if "bf16" in ovb.device_precisions("CPU"):
        predictor = load_predictor(fresh_cache.root, precision="bf16")
        assert predictor.describe().endswith("OpenVINO bf16 on CPU")
        assert Candidate("openvino", "bf16", "CPU") in calibration.candidates()
    else:
        with pytest.raises(InferenceError, match="does not compute in bf16"):
            load_predictor(fresh_cache.root, precision="bf16")
        assert Candidate("openvino", "bf16", "CPU") not in calibration.candidates()


def test_auto_without_openvino_uses_onnx_runtime_without_measuring(fresh_cache, monkeypatch):
    _no_calibration(monkeypatch)
    monkeypatch.setattr(ovb, "openvino_available", lambda: False)
    predictor = load_predictor(fresh_cache.root)
    assert type(predictor) is OnnxPredictor
    with pytest.raises(InferenceError, match=r"samlabel\[openvino\]"):
        load_predictor(fresh_cache.root, backend="openvino")


@pytest.mark.parametrize(("threshold", "encodes"), [(0.0, 1), (1e9, 2)])
def test_a_slow_warm_up_counts_as_the_timed_encode(fresh_cache, monkeypatch, threshold, encodes):
    """Big models are encoded once per candidate, not twice: calibration must stay short."""
    counted = []

    def counting(folder, candidate, threads):
        predictor = calibration.make_predictor(folder, candidate, threads)
        encode = predictor.encode
        predictor.encode = lambda image: counted.append(1) or encode(image)
        return predictor

    monkeypatch.setattr(candidate_measure, "WARM_UP_IS_TIMING_S", threshold)
    result = calibration.calibrate(fresh_cache, options=[ORT], build=counting, isolate=False)
    assert len(counted) == encodes
    assert result.measurements[0].encode_s > 0


def test_crashing_hanging_and_nan_candidates_are_refused_and_remembered(
    fresh_cache, monkeypatch, tmp_path
):
    """Each candidate is measured in a child process: a segfault, a hang or NaN output costs
    that candidate only; the next one is measured and chosen, and the ones that crashed or
    hung are not tried again on this machine."""
    tries = tmp_path / "tries.txt"
    monkeypatch.setenv(faulty.TRIES_ENV, str(tries))
    monkeypatch.setattr(calibration, "CANDIDATE_TIME_LIMIT_S", 20.0)
    bad = [faulty.SEGFAULT, faulty.HANG, faulty.NAN_EMBEDDING, faulty.NAN_DECODER]
    options = [ORT, *bad, faulty.HEALTHY]
    first = calibration.calibrate(fresh_cache, options=options, build=faulty.build)
    found = {m.candidate: m for m in first.measurements}
    assert "crashed (SIGSEGV)" in found[faulty.SEGFAULT].note
    assert "did not finish within 20 s" in found[faulty.HANG].note
    assert "NaN" in found[faulty.NAN_EMBEDDING].note
    assert "NaN" in found[faulty.NAN_DECODER].note
    assert not any(found[c].passed for c in bad)
    # Measuring went on after the crash and the hang, in a fresh child.
    assert found[faulty.HEALTHY].passed and found[faulty.HEALTHY].decode_ms > 0
    assert first.choice in (ORT, faulty.HEALTHY)
    assert "refused" in first.summary()

    # The app goes on with the stored choice.
    predictor = load_predictor(fresh_cache.root)
    assert predictor.describe().endswith("(chosen by measurement)")
    assert predictor.backend == first.choice.backend

    # Measuring again (a new runtime version, a deleted choice) skips what crashed or hung.
    tries.write_text("")
    second = calibration.calibrate(fresh_cache, options=[ORT, *bad], build=faulty.build)
    tried = tries.read_text().split()
    assert "SEGFAULT" not in tried and "HANG" not in tried
    assert "NAN" in tried  # a wrong answer is a verdict of the gate, cheap to check again
    again = {m.candidate: m for m in second.measurements}
    assert "not tried again" in again[faulty.SEGFAULT].note
    assert "crashed (SIGSEGV)" in again[faulty.SEGFAULT].note
    assert second.choice == ORT


def test_a_crashing_reference_is_a_message_not_a_dead_process(fresh_cache):
    with pytest.raises(InferenceError, match=r"ONNX Runtime fp32 on CPU .*crashed \(SIGSEGV\)"):
        calibration.calibrate(fresh_cache, options=[ORT], build=faulty.crash_on_build)


@pytest.mark.skipif(
    "bf16" not in ovb.device_precisions("CPU"), reason="this processor does not compute bf16"
)
def test_a_slow_bf16_decoder_is_refused_and_its_encoder_paired_with_fp32_clicks(
    fresh_cache, monkeypatch
):
    """As on an AMX Xeon, where OpenVINO's bf16 decoder took 2 s a click."""
    bf16 = Candidate("openvino", "bf16", "CPU")
    times = {ORT.label(): (2.0, 10.0), OV32.label(): (1.0, 12.0), bf16.label(): (0.3, 2100.0)}

    def fake(predictor, image, measurement, warm_up, warm_up_s):
        measurement.encode_s, measurement.decode_ms = times[measurement.candidate.label()]

    monkeypatch.setattr(candidate_measure, "_measure", fake)
    result = calibration.calibrate(fresh_cache, options=[ORT, OV32, bf16], isolate=False)
    found = {m.candidate: m for m in result.measurements}
    assert not found[bf16].passed
    assert "decoder takes 2100 ms a click against 10 ms in fp32" in found[bf16].note
    paired = Candidate("openvino", "bf16", "CPU", decoder_precision="fp32")
    assert result.choice == paired
    assert (found[paired].encode_s, found[paired].decode_ms) == (0.3, 12.0)

    predictor = load_predictor(fresh_cache.root)
    assert isinstance(predictor, ovb.OpenVinoPredictor)
    assert predictor.decoder_precision == "fp32" and predictor.precision == "bf16"
    assert "OpenVINO bf16 on CPU, decoder fp32" in predictor.describe()
