"""What every demo shares: its command line (--quick, --out), how it reports what it wrote, the numbers
it measured (``results.json``, which ``demos/make_readme_assets.py`` gathers for the README), and a
progress bar."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
from pathlib import Path

from tqdm import tqdm

if hasattr(signal, "SIGPIPE"):  # `python demos/NAME.py | head -1` ends quietly, as a Unix tool does
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
for _stream in (sys.stdout, sys.stderr):  # a terminal that cannot show an η gets an escape, not an error
    if hasattr(_stream, "reconfigure"):
        _stream.reconfigure(errors="backslashreplace")


def _missing_package(kind, error, traceback):
    """A demo that needs an extra which is not installed says so in one line, not a traceback."""
    if not issubclass(kind, ImportError):
        return sys.__excepthook__(kind, error, traceback)
    print(f"{Path(sys.argv[0]).stem}: error: {error}", file=sys.stderr)
    sys.exit(2)


sys.excepthook = _missing_package


# The ring trained plainly, as the original GAN papers train it: constant learning rates, samples
# from G's own weights. The ring preset adds two remedies (benchmarks/quality.py) that make its G
# sharper but slower to settle; demos that compare games or networks on the ring use this instead,
# so what they show comes from the game, and does not move when the preset is tuned.
PLAIN_RING = dict(batch_size=512, lr_g=5e-4, lr_d=5e-4, g_average=0.0, lr_decay_from=0, lr_decay_to=0)


def arguments(doc: str, name: str) -> argparse.Namespace:
    """Parse a demo's arguments: --quick (a few seconds, for the tests) and --out (its folder)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tiny run (seconds), to check the demo works")
    parser.add_argument("--out", default=f"runs/demos/{name}", help=f"output folder (default: runs/demos/{name})")
    args = parser.parse_args()
    args.out = Path(args.out)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where the folder goes, a read-only place
        problem = "it is a file" if args.out.is_file() else exc.strerror or exc
        parser.exit(2, f"{parser.prog}: error: cannot make the output folder {args.out}: {problem}\n")
    return args


def report(args: argparse.Namespace, written: list, look_at: list[str]) -> None:
    """Print the files a demo wrote and what to look at in them (which describes a full run)."""
    print("wrote:")
    for path in written:
        print(f"  {path}")
    if args.quick:
        print("what to look at after a full run (this --quick run is too short to show it all):")
    else:
        print("what to look at:")
    for line in look_at:
        print(f"  - {line}")


def progress(total: int, what: str = "training") -> tqdm:
    """A progress bar on stderr for a demo that runs more than a few seconds: ``bar.update()`` per step."""
    return tqdm(total=total, desc=what, unit="step", mininterval=0.5, leave=False, dynamic_ncols=True,
                disable=None)  # None: only on a terminal, as minigan train does


def save_results(args: argparse.Namespace, **numbers) -> Path:
    """Write the numbers a demo measured to ``<out>/results.json`` (the README quotes them from there)."""
    path = args.out / "results.json"
    path.write_text(json.dumps(_plain(numbers), indent=1, ensure_ascii=False) + "\n")
    return path


def _plain(value):
    """NumPy numbers and arrays, tuples and dicts as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # a NumPy scalar or array
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN and infinity are not JSON: "not measured" / "never"
    return value
