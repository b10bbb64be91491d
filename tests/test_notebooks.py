"""The learning path's notebooks: each runs top to bottom in a fresh Jupyter kernel (nbclient),
with QUICK = True, and is committed with its outputs, pictures included, in the guide's order."""

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "demos" / "notebooks"))
import run_all  # noqa: E402

pytest.importorskip("ipympl", reason="the lab's notebook needs ipympl (pip install ipympl)")


def outputs(book, kind: str):
    return [o for cell in book.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
            if o.get("output_type") == kind]


def check_lines(book) -> list[str]:
    """What each exercise's check cell printed (its one line)."""
    return ["".join(o["data"]["text/plain"]) for cell in book.cells if cell.cell_type == "code"
            and cell.source.startswith("check_") for o in cell.get("outputs", []) if "data" in o]


@pytest.mark.parametrize("name", run_all.NOTEBOOKS)
def test_the_notebook_runs_top_to_bottom(name):
    book = run_all.execute(name, quick=True)  # nbclient raises CellExecutionError, with the cell, on any error
    assert not outputs(book, "error")
    lines = check_lines(book)
    assert lines and all(line.startswith("… not written yet") and "\n" not in line for line in lines), lines
    assert any("image/png" in o["data"] for o in outputs(book, "display_data") + outputs(book, "execute_result"))


@pytest.mark.parametrize("name", run_all.NOTEBOOKS)
def test_the_notebook_is_committed_with_its_outputs_from_a_full_run(name):
    book = nbformat.read(ROOT / "demos" / "notebooks" / f"{name}.ipynb", as_version=4)
    code = [cell for cell in book.cells if cell.cell_type == "code"]
    assert code[0].source.startswith("QUICK = False")  # the full run's outputs, not a quick one's
    assert all(cell.execution_count for cell in code), "run demos/notebooks/run_all.py to save the outputs"
    assert not outputs(book, "error")
    pictures = [o for o in outputs(book, "display_data") + outputs(book, "execute_result") if "image/png" in o["data"]]
    assert pictures, "no picture saved"


def test_the_guide_lists_the_notebooks_in_their_order():
    guide = (ROOT / "demos" / "README.md").read_text()
    named = re.findall(r"notebooks/(\d\d_\w+)\.ipynb", guide)
    assert list(dict.fromkeys(named)) == list(run_all.NOTEBOOKS)
