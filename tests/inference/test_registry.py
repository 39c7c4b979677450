"""The registry of official models: complete, consistent, and looked up by any usual name."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from samlabel.core.errors import SamlabelError
from samlabel.inference import registry
from samlabel.inference.registry import (
    MODELS,
    UnknownModelError,
    canonical_name,
    find_by_file_name,
    find_by_sha256,
    get_model,
)

OFFICIAL_URLS = {
    "vit_b": "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth",
    "vit_l": "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_l_0b3195.pth",
    "vit_h": "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_h_4b8939.pth",
    "vit_t": "https://github.com/ChaoningZhang/MobileSAM/raw/master/weights/mobile_sam.pt",
    **{
        f"sam2.1_{short}": f"https://dl.fbaipublicfiles.com/segment_anything_2/092824/sam2.1_hiera_{size}.pt"
        for short, size in (("t", "tiny"), ("s", "small"), ("b+", "base_plus"), ("l", "large"))
    },
}


def test_the_four_official_models_at_their_published_addresses():
    assert {name: spec.url for name, spec in MODELS.items()} == OFFICIAL_URLS


@pytest.mark.parametrize("name", sorted(OFFICIAL_URLS))
def test_entry_is_consistent(name):
    spec = MODELS[name]
    assert spec.name == name
    assert urlsplit(spec.url).scheme == "https"
    assert urlsplit(spec.url).path.rsplit("/", 1)[1] == spec.file_name
    assert spec.sha256 is not None and re.fullmatch(r"[0-9a-f]{64}", spec.sha256)
    assert spec.size is not None and spec.size > 10_000_000
    assert spec.title and spec.description


def test_names_files_and_digests_are_unique_and_sizes_ascend():
    specs = list(MODELS.values())
    assert len({s.file_name for s in specs}) == len({s.sha256 for s in specs}) == len(specs)
    sizes = [s.size for s in specs]
    assert sizes == sorted(sizes)  # smallest (fastest) first, as the dialog lists them


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("vit_b", "vit_b"),
        (" VIT_L ", "vit_l"),
        ("mobile_sam", "vit_t"),
        ("MobileSAM", "vit_t"),
        ("sam_vit_h", "vit_h"),
        ("default", "vit_h"),
        ("sam_vit_b_01ec64.pth", "vit_b"),
        ("mobile_sam.pt", "vit_t"),
    ],
)
def test_usual_spellings_find_the_model(spelling, expected):
    assert get_model(spelling).name == expected


def test_unknown_name_is_a_user_facing_error_listing_the_known_ones():
    with pytest.raises(UnknownModelError) as caught:
        get_model("vit_xl")
    assert isinstance(caught.value, SamlabelError)
    assert str(caught.value) == (
        "There is no official model called 'vit_xl'. Known: vit_t, sam2.1_t, sam2.1_s, "
        "sam2.1_b+, vit_b, sam2.1_l, vit_l, vit_h."
    )
    assert canonical_name("my_custom") == "my_custom"


def test_lookup_by_file_and_digest():
    vit_b = MODELS["vit_b"]
    assert find_by_file_name("sam_vit_b_01ec64.pth") is vit_b
    assert find_by_file_name("other.pth") is None
    assert find_by_sha256(vit_b.sha256.upper()) is vit_b
    assert find_by_sha256("0" * 64) is None


def test_entries_added_at_run_time_are_found(monkeypatch):
    spec = registry.ModelSpec(
        "extra", "Extra", "extra.pth", "https://example.org/extra.pth", 1, None
    )
    monkeypatch.setitem(MODELS, "extra", spec)
    assert get_model("extra") is spec
    assert "extra" in registry.model_names()
