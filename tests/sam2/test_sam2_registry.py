"""The four SAM 2.1 models in the registry, and importing a SAM 2 checkpoint as for SAM 1."""

from __future__ import annotations

import re

from samlabel.inference.model_store import ModelStore
from samlabel.inference.registry import MODELS, find_by_file_name, get_model


def test_the_four_sam21_models_are_registered_with_official_files():
    names = {"sam2.1_t": "tiny", "sam2.1_s": "small", "sam2.1_b+": "base_plus", "sam2.1_l": "large"}
    for name, size in names.items():
        spec = MODELS[name]
        assert spec.file_name == f"sam2.1_hiera_{size}.pt"
        assert (
            spec.url == f"https://dl.fbaipublicfiles.com/segment_anything_2/092824/{spec.file_name}"
        )
        assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256 or "")
        assert find_by_file_name(spec.file_name) is spec
        assert get_model(f"sam2.1_hiera_{size}") is spec  # Meta's file stem works as a name
    sizes = [MODELS[n].size for n in names]
    assert sizes == sorted(sizes)


def test_a_sam2_checkpoint_imports_into_the_models_folder(tiny_meta, tmp_path):
    store = ModelStore(tmp_path / "models")
    result = store.import_checkpoint(tiny_meta[1], name="my-sam2", export_onnx=False)
    assert result.copied and result.model_name == "SAM 2.1 Hiera-T"
    assert result.entry.path.read_bytes() == tiny_meta[1].read_bytes()
