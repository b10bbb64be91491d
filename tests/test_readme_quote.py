"""The README quotes the training step from minigan/gan.py verbatim: this fails when they drift apart."""

import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _between(text: str, start: str, end: str) -> str:
    match = re.search(re.escape(start) + r"\n(.*?)" + re.escape(end), text, flags=re.DOTALL)
    assert match, f"markers {start!r} ... {end!r} not found"
    return match.group(1)


def _source_quote() -> str:
    gan = (ROOT / "minigan" / "gan.py").read_text()
    return textwrap.dedent(_between(gan, "# algorithm:start", "# algorithm:end")).strip("\n")


def _readme_quote() -> str:
    block = _between((ROOT / "README.md").read_text(), "<!-- gan-step:start -->", "<!-- gan-step:end -->")
    assert block.startswith("```python\n") and block.rstrip().endswith("```")
    return block.strip()[len("```python\n"):-len("```")].strip("\n")


def test_the_readme_quotes_the_training_step_exactly_as_gan_py_writes_it():
    assert _readme_quote() == _source_quote()


def test_the_quote_holds_the_two_steps_and_their_losses():
    quote = _source_quote()
    for method in ("def d_loss(", "def d_step(", "def g_loss(", "def g_step("):
        assert quote.count(method) == 1, method
    for n in range(1, 10):  # every numbered step of the algorithm is in it
        assert re.search(rf"# {n}\. ", quote), f"step {n} is not in the quote"

