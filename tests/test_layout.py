"""The package's shape: module imports form no cycle, and every table entry names code that exists."""

import ast
from pathlib import Path

import pytest

from gan_mnist.recipes import ARCHITECTURES, LOSSES, PENALTIES, resolve

PACKAGE = Path(__file__).resolve().parents[1] / "gan_mnist"
# the training core is the package's top level; these subpackages sit beside it and the core never needs them
BESIDE_THE_CORE = ("evaluation", "experiments")


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name below gan_mnist ('gan', 'evaluation.metrics', ...)."""
    return {".".join(p.relative_to(PACKAGE).with_suffix("").parts): p for p in PACKAGE.rglob("*.py")
            if p.stem not in ("__init__", "__main__")}


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
    assert "evaluation.metrics" not in graph["evaluation.evaluator"]  # the old evaluator <-> metrics circle


def test_the_layout_keeps_experiments_out_of_the_core():
    # the experiments (bench, leaderboard) are reached only from the CLI; training may evaluate (QualityEvery) but
    # nothing at the top level imports an experiment
    modules = _modules()
    assert {"gan", "training", "evaluation.metrics", "experiments.bench"} <= set(modules)
    for name, path in modules.items():
        if "." not in name and name != "cli":
            assert not {m for m in _imports(path) if m.startswith("experiments")}, name


@pytest.mark.parametrize("path", [*(p for a in ARCHITECTURES.values() for p in (a.generator, a.discriminator)),
                                  *(p for loss in LOSSES.values() for p in (loss.d, loss.g)),
                                  *(p.fn for p in PENALTIES.values())])
def test_every_table_entry_names_a_function(path):
    assert callable(resolve(path)), path
