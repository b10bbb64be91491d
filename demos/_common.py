"""What every demo shares: its command line (--quick, --out) and how it reports what it wrote."""

from __future__ import annotations

import argparse
from pathlib import Path


def arguments(doc: str, name: str) -> argparse.Namespace:
    """Parse a demo's arguments: --quick (a few seconds, for the tests) and --out (its folder)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tiny run (seconds), to check the demo works")
    parser.add_argument("--out", default=f"runs/demos/{name}", help=f"output folder (default: runs/demos/{name})")
    args = parser.parse_args()
    args.out = Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def report(written: list, look_at: list[str]) -> None:
    """Print the files a demo wrote and what to look at in them."""
    print("wrote:")
    for path in written:
        print(f"  {path}")
    print("what to look at:")
    for line in look_at:
        print(f"  - {line}")
