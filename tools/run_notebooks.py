"""Execute notebooks for real (their own parameters, no smoke mode) and keep their outputs small and readable.

    python tools/run_notebooks.py notebooks/01_train_and_watch.ipynb [...]      # execute, clean, write in place
    python tools/run_notebooks.py --clean-only notebooks/*.ipynb           # only clean existing outputs

A notebook whose run directory holds a run of another config (a default changed since it was executed) stops
with the directory to delete: notebooks refuse to resume such a run, and only its owner should discard it.

Cleaning keeps what a reader sees and drops what only bloats the file: Keras progress bars are redrawn with
carriage returns and backspaces hundreds of times per epoch, so each stream is reduced to the lines a terminal
would finally show; TensorFlow's C++ log lines on stderr are dropped; a picture that Jupyter stored both as PNG
and as JPEG keeps the PNG only.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbformat

# the run directory in GanMnistError's refusal to resume a run of another config (run/training.py)
_OTHER_CONFIG = re.compile(r"GanMnistError: (\S+) holds a run with a different config \((.*?)\); use another")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# TensorFlow's C++ start-up and grappler log lines (absl format): noise, not output
_TF_LOG = re.compile(r"^(?:[IWE]\d{4} [\d:.]+ +\d+ \S+\] .*|WARNING: All log messages before absl::"
                     r"InitializeLog\(\) is called are written to STDERR|To enable the following instructions: .*)$")


def terminal_text(text: str) -> str:
    """What a terminal shows for `text`: per line, only what follows the last carriage return survives."""
    lines = []
    for line in text.split("\n"):
        parts = [p for p in line.replace("\b", "").split("\r") if p]
        lines.append(parts[-1] if parts else "")
    return "\n".join(lines)


def clean_outputs(nb) -> None:
    """Merge consecutive streams, collapse progress-bar redraws, drop JPEG copies of PNG pictures (in place)."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and merged and merged[-1].output_type == "stream" \
                    and merged[-1].name == out.name:
                merged[-1].text += out.text
                continue
            if out.output_type in ("display_data", "execute_result") and "image/png" in out.data:
                out.data.pop("image/jpeg", None)
            merged.append(out)
        for out in merged:
            if out.output_type == "stream":
                text = _ANSI.sub("", terminal_text(out.text))
                if out.name == "stderr":
                    text = "\n".join(line for line in text.split("\n") if not _TF_LOG.match(line))
                out.text = text
        cell.outputs = [o for o in merged if o.output_type != "stream" or o.text.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--clean-only", action="store_true", help="do not execute, only clean the outputs")
    args = parser.parse_args(argv)
    if os.environ.get("GAN_MNIST_SMOKE") == "1":
        parser.error("GAN_MNIST_SMOKE=1 is set: committed outputs come from real runs")
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if not args.clean_only:
            from nbclient import NotebookClient
            from nbclient.exceptions import CellExecutionError

            start = time.perf_counter()
            try:
                NotebookClient(nb, timeout=None, resources={"metadata": {"path": str(path.parent)}}).execute()
            except CellExecutionError as e:
                stale = _OTHER_CONFIG.search(_ANSI.sub("", str(e)))
                if stale is None:
                    raise
                run = (path.parent / stale[1]).resolve()
                print(f"{path}: not written. Its run {run} was made with another config ({stale[2]}): after a "
                      f"change of defaults, delete that directory to retrain it, then run this again",
                      file=sys.stderr)
                return 1
            print(f"{path}: executed in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        clean_outputs(nb)
        nbformat.write(nb, path)
        print(f"{path}: {path.stat().st_size / 1e6:.2f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
