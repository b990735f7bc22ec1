"""tools/run_notebooks.py: what a terminal shows of a progress bar's redraws, and a notebook whose run was made
with another config left unwritten with the directory to delete named."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

_TOOL = Path(__file__).resolve().parents[1] / "tools" / "run_notebooks.py"
_spec = importlib.util.spec_from_file_location("run_notebooks", _TOOL)
run_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_notebooks)


def test_terminal_text_keeps_what_follows_the_last_carriage_return():
    assert run_notebooks.terminal_text("1/3\r2/3\r3/3 done\nnext\b line\r\n") == "3/3 done\nnext line\n"


def _notebook(path: Path, source: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_a_run_of_another_config_names_the_directory_to_delete(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GAN_MNIST_SMOKE", raising=False)
    # the refusal run/training.py raises when a notebook resumes into a run whose recipe changed
    refusal = ("from gan_mnist.errors import GanMnistError\n"
               "raise GanMnistError('runs/01_default holds a run with a different config (lr_g: 0.0004 -> 0.0005; "
               "d_widths: (32, 256) -> (64, 256)); use another run directory, or force=True (CLI: --force) to "
               "start over')")
    path = _notebook(tmp_path / "stale.ipynb", refusal)
    before = path.read_bytes()
    assert run_notebooks.main([str(path)]) == 1
    err = capsys.readouterr().err
    assert str((tmp_path / "runs" / "01_default").resolve()) in err
    assert "lr_g: 0.0004 -> 0.0005; d_widths: (32, 256) -> (64, 256)" in err
    assert path.read_bytes() == before  # nothing written


def test_any_other_failure_is_raised(tmp_path, monkeypatch):
    from nbclient.exceptions import CellExecutionError

    monkeypatch.delenv("GAN_MNIST_SMOKE", raising=False)
    path = _notebook(tmp_path / "broken.ipynb", "assert 1 == 2, 'a check of the notebook failed'")
    with pytest.raises(CellExecutionError, match="a check of the notebook failed"):
        run_notebooks.main([str(path)])
