"""The package's shape: module imports form no cycle, and every table entry names code that exists."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gan_mnist"
# the training core is the package's top level; these subpackages sit beside it and the core never needs them
BESIDE_THE_CORE = ("evaluation", "experiments")


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name below gan_mnist ('gan', 'evaluation.metrics', ...); a
    subpackage's __init__ by the subpackage's name ('networks')."""
    modules = {}
    for p in PACKAGE.rglob("*.py"):
        parts = p.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and parts[-1] != "__main__":
            modules[".".join(parts)] = p
    return modules


def _imports(path: Path) -> set[str]:
    """gan_mnist modules (dotted, below gan_mnist) that a module imports anywhere (top level or in functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module
                 else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        found |= {n.removeprefix("gan_mnist.") for n in names if n.startswith("gan_mnist.")}
    return found


def test_module_imports_form_no_cycle():
    graph = {name: _imports(path) - {name} for name, path in _modules().items()}
    done, path = set(), []

    def visit(module):
        if module in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(module):], module]))
        if module in done:
            return
        path.append(module)
        for other in sorted(graph.get(module, ())):
            visit(other)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert "evaluation.metrics" not in graph["evaluation.evaluator"]  # no evaluator <-> metrics circle


def test_the_layout_is_by_concept():
    # networks, objectives, the run, evaluation and experiments each in a subpackage; the top level holds the
    # config, the recipe tables and the presets, the GAN and its training-step helpers, sampling, pictures, the CLI,
    # the ceilings on sizes and the checks on .keras files users pass in
    top = {name for name in _modules() if "." not in name}
    assert top == {"_startup", "cli", "clustering", "colab", "config", "ema", "errors", "evaluation",
                   "experiments", "gan", "keras_file", "limits", "networks", "objectives", "plotting", "presets",
                   "recipes", "run", "sample"}
    assert {"networks.mlp", "networks.dcgan", "networks.resize", "networks.blocks", "objectives.losses",
            "objectives.penalties", "run.training", "run.callbacks", "run.checkpoint", "run.directory",
            "run.export", "run.data"} <= set(_modules())


def test_the_layout_keeps_experiments_out_of_the_core():
    # the experiments (bench, leaderboard, tune) are reached only from the CLI; training may evaluate
    # (EpochBook) but nothing outside experiments imports an experiment
    for name, path in _modules().items():
        if not name.startswith("experiments") and name != "cli":
            assert not {m for m in _imports(path) if m.startswith("experiments")}, name




def test_no_function_is_over_60_lines():
    # a function that does several things reads as several functions with names
    long = [f"{name}.{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for name, path in _modules().items() for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60]
    assert not long, long


ROOT = PACKAGE.parent
DOCS_BUDGET = 45_000  # bytes of docs/*.md: reference pages say what is and how; docs/results.md keeps the record


def test_the_docs_stay_within_their_budget():
    sizes = {p.name: p.stat().st_size for p in (ROOT / "docs").glob("*.md")}
    assert sum(sizes.values()) <= DOCS_BUDGET, sizes


def _anchor(heading: str) -> str:
    """GitHub's anchor of a markdown heading: lower case, punctuation dropped, spaces as hyphens."""
    return "-".join("".join(c for c in heading.lower() if c.isalnum() or c in " -_").split(" "))


def test_every_link_between_the_docs_reaches_its_file_and_heading():
    import re

    pages = [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", page.read_text()):
            path, anchor = target
            if path.startswith(("http://", "https://")):
                continue
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.name}: {path}")
            elif anchor and file.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", file.read_text(), flags=re.M)
                if anchor not in {_anchor(h) for h in headings}:
                    broken.append(f"{page.name}: {path}#{anchor}")
    assert not broken, broken
