"""Shared test setup: headless Qt, private user folders, the reference fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Qt must not look for a display; set before anything imports PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = Path(os.environ.get("SAMLABEL_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures"))


@pytest.fixture(scope="session", autouse=True)
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory):
    """Never touch the real user cache, models or settings folders from a test.

    Session-scoped and autouse, so it is in place before any module- or session-scoped
    fixture builds a model or an export.
    """
    base = tmp_path_factory.getbasetemp() / "user"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SAMLABEL_CACHE_DIR", str(base / "cache"))
        patch.setenv("SAMLABEL_MODELS_DIR", str(base / "models"))
        patch.setenv("SAMLABEL_CONFIG_DIR", str(base / "config"))
        yield


#: Where this run generated the fixtures (empty: it used the shared ones, or none were needed).
_generated_fixtures: list[Path] = []


@pytest.fixture(scope="session")
def fixtures_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of reference outputs of Meta's SAM code (see its README).

    Without the shared fixtures (``SAMLABEL_FIXTURES``, default ``../shared/fixtures``), they
    are generated once per run (tests/reference_fixtures.py; about a minute), and the run's
    last lines say so. CI must have the shared ones: MobileSAM's parity needs them.
    """
    if (FIXTURES_DIR / "sam_vit_random" / "checkpoint.pth").exists():
        return FIXTURES_DIR
    if os.environ.get("CI"):
        pytest.fail(f"reference fixtures missing at {FIXTURES_DIR}")
    from tests.reference_fixtures import write_reference_fixtures

    root = write_reference_fixtures(tmp_path_factory.mktemp("reference-fixtures"))
    _generated_fixtures.append(root)
    return root


def _is_correctness_skip(report: pytest.TestReport) -> bool:
    """A parity test skipped, or one skipped for a missing reference (fixtures, Meta's code)."""
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    return "reference" in reason or "_parity" in report.nodeid


def pytest_unconfigure(config: pytest.Config) -> None:
    """End the run with what it could not check against a reference, after the totals."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    lines: list[str] = []
    if _generated_fixtures:
        from tests.reference_fixtures import describe

        lines += describe(_generated_fixtures[0])
    skipped = [r for r in reporter.stats.get("skipped", []) if _is_correctness_skip(r)]
    if skipped:
        lines.append(
            f"{len(skipped)} correctness tests SKIPPED for a missing reference (see the skip "
            "reasons above; README.md, Tests, says how to get the fixtures)"
        )
    for line in lines:
        reporter.write_line(line, yellow=True, bold=True)


@pytest.fixture(scope="session")
def onnx_export_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export cache for the whole test session (exporting costs seconds per model)."""
    return tmp_path_factory.getbasetemp() / "user" / "cache" / "onnx"
