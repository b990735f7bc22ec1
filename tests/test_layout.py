"""The package's shape: module imports form no cycle, and every table entry names code that exists."""

import ast
from pathlib import Path

import pytest

from gan_mnist.recipes import ARCHITECTURES, LOSSES, PENALTIES, resolve

PACKAGE = Path(__file__).resolve().parents[1] / "gan_mnist"


def _imports(path: Path) -> set[str]:
    """gan_mnist modules that a module imports anywhere (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module
                 else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        found |= {n.split(".")[1] for n in names if n.startswith("gan_mnist.")}
    return found


def test_module_imports_form_no_cycle():
    graph = {p.stem: _imports(p) - {p.stem} for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__")}
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
    assert "metrics" not in graph["evaluator"]  # the old evaluator <-> metrics circle stays gone


@pytest.mark.parametrize("path", [*(p for a in ARCHITECTURES.values() for p in (a.generator, a.discriminator)),
                                  *(p for loss in LOSSES.values() for p in (loss.d, loss.g)),
                                  *(p.fn for p in PENALTIES.values())])
def test_every_table_entry_names_a_function(path):
    assert callable(resolve(path)), path
