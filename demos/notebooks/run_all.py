"""Run the notebooks of the learning path top to bottom and save each with its outputs (its
pictures included), so that a reader on GitHub sees them:

    .venv/bin/python demos/notebooks/run_all.py            # all of them
    .venv/bin/python demos/notebooks/run_all.py 05_lab     # some of them

Each runs in a fresh Jupyter kernel (``nbclient``), in this folder, as its first cell sets
``QUICK`` (False: the full run), with one BLAS thread unless OPENBLAS_NUM_THREADS says otherwise.
``tests/test_notebooks.py`` runs them too, with ``QUICK = True``, without saving.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOKS = (  # the learning path, in the order of demos/README.md
    "01_autodiff", "02_gradient_through_g", "03_lab", "04_generator_losses", "05_optimal_discriminator",
    "06_mode_collapse_and_xy_game", "07_digits",
)
QUICK_OFF, QUICK_ON = "QUICK = False", "QUICK = True"


def execute(name: str, quick: bool = False, timeout: int = 600):
    """The notebook ``name`` run top to bottom in a fresh kernel (``quick``: with QUICK = True)."""
    book = nbformat.read(HERE / f"{name}.ipynb", as_version=4)
    first = next(cell for cell in book.cells if cell.cell_type == "code")
    if not first.source.startswith(QUICK_OFF):
        raise ValueError(f"{name}: its first code cell must start with '{QUICK_OFF}'")
    if quick:
        first.source = first.source.replace(QUICK_OFF, QUICK_ON, 1)
    # one BLAS thread unless you ask for more: the notebooks' networks are small, and on a busy
    # machine a second thread that waits for a core costs far more than it buys
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **os.environ}
    NotebookClient(book, timeout=timeout, kernel_name="python3", record_timing=False, store_widget_state=False,
                   resources={"metadata": {"path": str(HERE)}}).execute(env=env)
    if quick:
        first.source = first.source.replace(QUICK_ON, QUICK_OFF, 1)
    for cell in book.cells:  # a live widget (the lab) cannot be saved: keep its picture and its text
        for output in cell.get("outputs", []):
            if "application/vnd.jupyter.widget-view+json" in output.get("data", {}):
                output["data"] = {k: v for k, v in output["data"].items() if k in ("image/png", "text/plain")}
    return book


def main(names) -> int:
    unknown = [n for n in names if n not in NOTEBOOKS]
    if unknown:
        print(f"unknown notebook {', '.join(unknown)}; known: {', '.join(NOTEBOOKS)}", file=sys.stderr)
        return 2
    for name in names or NOTEBOOKS:
        started = time.perf_counter()
        book = execute(name)
        nbformat.write(book, HERE / f"{name}.ipynb")
        print(f"{name}: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
