"""docs/notebook.ipynb runs from top to bottom in a Jupyter kernel (nbclient), as a reader runs it,
and shows what a notebook should: the progress bar, HTML tables of the model, answers and the
evaluation. Skipped where nbclient, nbformat or ipykernel is not installed (the dev extra has them);
it needs no network (the kernel is started locally over its own sockets)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "notebook.ipynb"

pytestmark = pytest.mark.slow


def outputs(cell: Any, kind: str) -> str:
    """The text of one kind of output of a cell: ``stderr``, ``stdout``, ``text/html`` or ``text/plain``."""
    found = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream" and output["name"] == kind:
            found.append(output["text"])
        elif output["output_type"] in ("execute_result", "display_data") and kind in output["data"]:
            found.append(output["data"][kind])
    return "".join(found)


def test_the_notebook_in_the_repository_has_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_the_example_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("faiss")  # the notebook builds an index (the ann extra)
    # A kernel of this interpreter, whatever kernels the machine has installed.
    spec = tmp_path / "kernels" / "item2vec-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "item2vec", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="item2vec-test",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},  # run where Jupyter runs it: docs/
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if a cell fails
    cells = {cell.source.splitlines()[-1]: cell for cell in notebook.cells if cell.cell_type == "code"}
    trained = cells["model"]
    assert "training: 100%" in outputs(trained, "stderr")  # the progress bar, on by default in a kernel
    assert "<caption style='text-align:left'>item2vec.Model</caption>" in outputs(trained, "text/html")
    assert "score (cosine)" in outputs(cells["alike"], "text/html")
    assert "score (hybrid)" in outputs(cells["picks"], "text/html")
    assert outputs(cells["picks"], "stdout").startswith("cosine hybrid hybrid(")
    assert "score_kind" in outputs(cells["picks.to_frame()"], "text/html")
    assert "<caption style='text-align:left'>next-item</caption>" in outputs(cells["report"], "text/html")
    assert "<item2vec.Model: " in outputs(cells["pd.read_parquet(written[0]).head(3)"], "stdout")
