"""The registry of official SAM checkpoints: one place that names every downloadable model.

Like segment-anything's ``build_sam.py`` registry, each entry is a named configuration; here
it describes the file to fetch rather than the network to build (the architecture is read from
the weights when the file is loaded, see :mod:`samlabel.sam.checkpoint`).

Sizes and sha256 digests are the published ones of the files at the official addresses, as
listed by segment-anything's and MobileSAM's users' download scripts and model zoos.

SAM 2.1 (Meta's ``sam2.1_hiera_*.pt``, ``{"model": state_dict}`` files): sizes and digests
from the Git LFS pointers of independent Hugging Face mirrors of Meta's files, which agree:
camenduru/sam2-1-hiera (all four), Promethe-us/sam2 (tiny, base_plus), the
Mar2Ding/SAM2Long-Demo space (small, base_plus) and phenanthra/tmp and
tictag-io-demo/sam2.1-hiera-large (large).
"""

from __future__ import annotations

from dataclasses import dataclass

from samlabel.core.errors import SamlabelError


@dataclass(frozen=True)
class ModelSpec:
    """One downloadable checkpoint.

    Attributes:
        name: short name used on the command line and in settings (``"vit_b"``).
        title: name shown to people (``"SAM ViT-B"``).
        file_name: name of the file in the models folder (the official file name).
        url: official download address.
        size: published size of the file in bytes, or None when not published.
        sha256: published sha256 hex digest (lowercase), or None when not published; a
            download without a digest is only checked against ``size``.
        description: one line on when to pick this model.
    """

    name: str
    title: str
    file_name: str
    url: str
    size: int | None
    sha256: str | None
    description: str = ""


class UnknownModelError(SamlabelError):
    """A model name that is neither in the registry nor installed."""


#: Where Meta publishes the SAM 2.1 checkpoints (release of 2024-09-28).
_SAM21_URL = "https://dl.fbaipublicfiles.com/segment_anything_2/092824/"

#: The official models, smallest first. Tests may add entries with ``monkeypatch.setitem``.
MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="vit_t",
            title="MobileSAM (TinyViT)",
            file_name="mobile_sam.pt",
            url="https://github.com/ChaoningZhang/MobileSAM/raw/master/weights/mobile_sam.pt",
            size=40_728_226,
            sha256="6dbb90523a35330fedd7f1d3dfc66f995213d81b29a5ca8108dbcdd4e37d6c2f",
            description="fastest on a laptop CPU (about 1 s per image); rougher edges",
        ),
        ModelSpec(
            name="sam2.1_t",
            title="SAM 2.1 Hiera-T",
            file_name="sam2.1_hiera_tiny.pt",
            url=_SAM21_URL + "sam2.1_hiera_tiny.pt",
            size=156_008_466,
            sha256="7402e0d864fa82708a20fbd15bc84245c2f26dff0eb43a4b5b93452deb34be69",
            description="SAM 2.1, smallest: fast on a CPU, better masks than MobileSAM",
        ),
        ModelSpec(
            name="sam2.1_s",
            title="SAM 2.1 Hiera-S",
            file_name="sam2.1_hiera_small.pt",
            url=_SAM21_URL + "sam2.1_hiera_small.pt",
            size=184_416_285,
            sha256="6d1aa6f30de5c92224f8172114de081d104bbd23dd9dc5c58996f0cad5dc4d38",
            description="SAM 2.1, a little slower and better than Hiera-T",
        ),
        ModelSpec(
            name="sam2.1_b+",
            title="SAM 2.1 Hiera-B+",
            file_name="sam2.1_hiera_base_plus.pt",
            url=_SAM21_URL + "sam2.1_hiera_base_plus.pt",
            size=323_606_802,
            sha256="a2345aede8715ab1d5d31b4a509fb160c5a4af1970f199d9054ccfb746c004c5",
            description="SAM 2.1 base+: good masks at about ViT-B's cost",
        ),
        ModelSpec(
            name="vit_b",
            title="SAM ViT-B",
            file_name="sam_vit_b_01ec64.pth",
            url="https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth",
            size=375_042_383,
            sha256="ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912",
            description="the usual choice: good masks, about 10 s per image on a CPU",
        ),
        ModelSpec(
            name="sam2.1_l",
            title="SAM 2.1 Hiera-L",
            file_name="sam2.1_hiera_large.pt",
            url=_SAM21_URL + "sam2.1_hiera_large.pt",
            size=898_083_611,
            sha256="2647878d5dfa5098f2f8649825738a9345572bae2d4350a2468587ece47dd318",
            description="SAM 2.1's best masks, slowest of the four",
        ),
        ModelSpec(
            name="vit_l",
            title="SAM ViT-L",
            file_name="sam_vit_l_0b3195.pth",
            url="https://dl.fbaipublicfiles.com/segment_anything/sam_vit_l_0b3195.pth",
            size=1_249_524_607,
            sha256="3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622",
            description="better masks than ViT-B, about three times slower",
        ),
        ModelSpec(
            name="vit_h",
            title="SAM ViT-H",
            file_name="sam_vit_h_4b8939.pth",
            url="https://dl.fbaipublicfiles.com/segment_anything/sam_vit_h_4b8939.pth",
            size=2_564_550_879,
            sha256="a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e",
            description="best masks, slowest; marginal gain over ViT-L",
        ),
    )
}

#: Other spellings people use for the same models (segment-anything's and file names).
ALIASES: dict[str, str] = {
    "mobile_sam": "vit_t",
    "mobilesam": "vit_t",
    "sam_vit_b": "vit_b",
    "sam_vit_l": "vit_l",
    "sam_vit_h": "vit_h",
    "default": "vit_h",  # segment-anything's registry calls ViT-H "default"
    "sam2.1_hiera_tiny": "sam2.1_t",
    "sam2.1_hiera_small": "sam2.1_s",
    "sam2.1_hiera_base_plus": "sam2.1_b+",
    "sam2.1_hiera_large": "sam2.1_l",
}


def model_names() -> list[str]:
    """Names of the registered models, in registry order."""
    return list(MODELS)


def canonical_name(name: str) -> str:
    """The registry name for ``name`` (aliases and file names resolved), else ``name`` as is."""
    key = name.strip().lower()
    if key in MODELS:
        return key
    if key in ALIASES:
        return ALIASES[key]
    by_file = find_by_file_name(name.strip())
    return by_file.name if by_file is not None else name.strip()


def get_model(name: str) -> ModelSpec:
    """The registry entry called ``name`` (or one of its aliases or its file name).

    Raises:
        UnknownModelError: no such model; the message lists the known names.
    """
    spec = MODELS.get(canonical_name(name))
    if spec is None:
        known = ", ".join(model_names())
        raise UnknownModelError(f"There is no official model called '{name}'. Known: {known}.")
    return spec


def find_by_file_name(file_name: str) -> ModelSpec | None:
    """The registry entry whose file is called ``file_name``, if any."""
    for spec in MODELS.values():
        if spec.file_name == file_name:
            return spec
    return None


def find_by_sha256(digest: str) -> ModelSpec | None:
    """The registry entry whose published sha256 is ``digest`` (hex, any case), if any."""
    digest = digest.lower()
    for spec in MODELS.values():
        if spec.sha256 is not None and spec.sha256 == digest:
            return spec
    return None
