"""The layout a reader relies on: a small teaching path, no import cycle, the engine apart from
the application, and no matplotlib backend forced on anyone.

Run as a script to print the size of each file of the teaching path:

    .venv/bin/python tests/test_layout.py
"""

import ast
import io
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "minigan"
TEACHING_PATH = ("autograd", "ops", "nn", "losses", "optim", "backend", "gradcheck")
BUDGET = 1000  # code lines of the teaching path, all files together


def code_lines(source: str) -> int:
    """Lines that hold code: not blank, not only a comment, not part of a docstring (the string
    that opens a module, class or function). A statement over three lines counts three."""
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.update(range(first.lineno, first.end_lineno + 1))
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip:
            lines.update(n for n in range(token.start[0], token.end[0] + 1) if n not in docstrings)
    return len(lines)


def function_source(module: str, qualified_name: str) -> str:
    source = (PACKAGE / f"{module}.py").read_text()
    nodes = {}
    for node in ast.walk(ast.parse(source)):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                prefix = f"{node.name}." if isinstance(node, ast.ClassDef) else ""
                nodes[prefix + child.name] = child
    found = nodes[qualified_name]
    return textwrap.dedent("\n".join(source.splitlines()[found.lineno - 1:found.end_lineno]))


def imports_of(path: Path) -> set[str]:
    """The minigan modules a file imports, anywhere in it (a lazy import inside a function too)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("minigan"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.startswith("minigan"):
                for alias in node.names:  # `from minigan import ops` imports the module minigan.ops
                    candidate = f"{base}.{alias.name}"
                    found.add(candidate if _module_path(candidate) else base)
    return found


def _module_path(name: str) -> Path | None:
    path = PACKAGE.parent / Path(*name.split("."))
    return next((p for p in (path.with_suffix(".py"), path / "__init__.py") if p.exists()), None)


def modules() -> dict[str, Path]:
    return {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
            for p in PACKAGE.rglob("*.py")}


def test_the_teaching_path_fits_its_budget():
    sizes = {name: code_lines((PACKAGE / f"{name}.py").read_text()) for name in TEACHING_PATH}
    assert sum(sizes.values()) <= BUDGET, sizes


def test_the_code_counter_counts_code_and_nothing_else():
    source = '"""doc\nstring"""\n\n# a comment\nx = 1  # code\ny = (\n    2)\n\n\ndef f():\n    """doc"""\n    return x\n'
    assert code_lines(source) == 5  # x = 1; the two lines of y; def f; return x


def test_backward_is_one_short_loop_and_grad_is_built_on_it():
    assert code_lines(function_source("autograd", "_chain_rule")) <= 25
    assert code_lines(function_source("autograd", "Tensor.backward")) <= 15
    assert "_chain_rule(" in function_source("autograd", "grad")  # the same loop, not a second one


def test_no_module_of_minigan_imports_itself_back_through_others():
    graph = {name: {m for m in imports_of(path) if m in modules() and m != name} for name, path in modules().items()}
    graph = {name: {m for m in targets if not name.startswith(m + ".") and m != "minigan"} for name, targets in graph.items()}
    cycles = []

    def visit(name, trail):
        for target in graph[name]:
            if target in trail:
                cycles.append(trail[trail.index(target):] + [target])
            elif len(trail) < 20:
                visit(target, trail + [target])

    for name in graph:
        visit(name, [name])
    assert not cycles, cycles[:3]


def test_the_engine_never_imports_the_application():
    engine = {name: path for name, path in modules().items()  # `python -m minigan` is the command line's door
              if not name.startswith("minigan.app") and name != "minigan.__main__"}
    offenders = {name: sorted(m for m in imports_of(path) if m.startswith("minigan.app")) for name, path in engine.items()}
    assert not {name: found for name, found in offenders.items() if found}


def _fresh_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_the_engine_or_the_command_line_does_not_import_matplotlib():
    assert _fresh_python("import sys, minigan, minigan.gan, minigan.app.cli; print('matplotlib' in sys.modules)") == "False"


def test_drawing_a_picture_never_changes_the_backend_the_user_chose():
    code = ("import matplotlib; matplotlib.use('svg')\n"
            "import numpy as np, tempfile, os\n"
            "from minigan.app import plot\n"
            "fig, ax = plot.subplots()\n"
            "ax.plot([0, 1])\n"
            "plot.save(fig, os.path.join(tempfile.mkdtemp(), 'a.png'))\n"
            "print(matplotlib.get_backend())")
    assert _fresh_python(code) == "svg"


if __name__ == "__main__":
    total = 0
    for name in TEACHING_PATH:
        lines = code_lines((PACKAGE / f"{name}.py").read_text())
        total += lines
        print(f"minigan/{name + '.py':<13} {lines:5d}")
    print(f"{'teaching path':<21} {total:5d}  (budget {BUDGET}; code lines: no blank, comment or docstring line)")
