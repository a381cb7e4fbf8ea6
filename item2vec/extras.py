"""Optional dependencies: import them on demand, or say which extra installs them."""

from __future__ import annotations

import importlib
from types import ModuleType

from item2vec.errors import MissingDependencyError

# module → (PyPI package, extra that installs it, or None where the user installs it)
PACKAGES: dict[str, tuple[str, str | None]] = {
    "plotly": ("plotly", "plot"),
    "matplotlib": ("matplotlib", "plot"),
    "sklearn": ("scikit-learn", "plot"),
    "umap": ("umap-learn", "umap"),
    "torch": ("torch", None),
    "optuna": ("optuna", "tune"),
    "faiss": ("faiss-cpu", "ann"),
    "fastapi": ("fastapi", "serve"),
    "uvicorn": ("uvicorn", "serve"),
    "starlette": ("fastapi", "serve"),
    "pydantic": ("fastapi", "serve"),
    "pyspark": ("pyspark", "spark"),
}


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise a one-line MissingDependencyError naming what to install.

    Args:
        module: the import name (``plotly``, ``sklearn``, ``matplotlib.pyplot``).
        purpose: what needs it, as the start of the message (``param("method", Bare("tsne"))``).
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        package, extra = PACKAGES[module.split(".")[0]]
        how = f"pip install {package}" if extra is None else f"pip install 'item2vec[{extra}]'"
        raise MissingDependencyError(f"{purpose} needs {package}, which is not installed: {how}") from None
