"""Connecting to Ray: the optional extra ``samlabel[cluster]``, said in one sentence when absent."""

from __future__ import annotations

from types import ModuleType

from samlabel.core.errors import SamlabelError

INSTALL_HINT = (
    "--ray needs Ray, which this installation lacks: install it with "
    "python -m pip install 'samlabel[cluster]' (or drop --ray to run on this machine)."
)


def import_ray() -> ModuleType:
    """The ``ray`` module, or SamlabelError saying how to install it."""
    try:
        import ray
        import ray.data  # Ray Data is part of the extra: ray[data]
    except ImportError:
        raise SamlabelError(INSTALL_HINT) from None
    return ray


def connect(address: str) -> ModuleType:
    """Join the cluster at ``address`` ('local': a new instance on this machine; 'auto': the
    cluster this machine belongs to). A session already started in this process is reused."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    try:
        if address == "local":
            ray.init(include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise SamlabelError(f"cannot reach the Ray cluster at {address}: {error}") from None
    return ray


def cluster_shape(ray: ModuleType) -> tuple[float, float]:
    """``(CPUs, GPUs)`` the cluster offers."""
    resources = ray.cluster_resources()
    return float(resources.get("CPU", 0.0)), float(resources.get("GPU", 0.0))
