"""The segment-everything bench rows run end to end (tiny model here; ViT-B from the CLI)."""

from __future__ import annotations

from samlabel.inference.automatic_bench import segment_everything_rows
from samlabel.inference.benchmark import BenchResult
from tests.inference.tiny_models import TINY_VIT


def test_rows_time_ours_fp32_int8_and_say_why_meta_is_missing():
    import torch

    from samlabel.sam.build import SamConfig, build_sam

    torch.manual_seed(0)
    model = build_sam(SamConfig(encoder=TINY_VIT)).eval()
    result = BenchResult()
    segment_everything_rows(result, model, "tiny", points_per_side=2, log=lambda line: None)
    rows = {what: value for _, what, value in result.rows}
    assert rows["segment everything 2x2, 1 MP, ours fp32"].endswith("masks")
    assert "of fp32's matched" in rows["segment everything 2x2, 1 MP, ours int8 decoder"]
    # Meta's registry builds only the published encoders; a tiny one is reported, not run.
    assert rows["segment everything 2x2, 1 MP, Meta's generate()"].startswith("skipped: ")
