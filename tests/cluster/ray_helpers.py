"""A local Ray instance for the cluster tests: 2 CPUs, workers importing this checkout."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def start_local_ray(crash_file: Path, crash_after: int = 2):
    """``ray.init(num_cpus=2)`` whose workers see this checkout's code, the tests' private
    user folders and the crash hook's variables (armed only where a test creates the file)."""
    import ray

    env = {k: v for k, v in os.environ.items() if k.startswith("SAMLABEL_")}
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        SAMLABEL_TEST_CRASH_FILE=str(crash_file),
        SAMLABEL_TEST_CRASH_AFTER=str(crash_after),
    )
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": env},
    )
    return ray
