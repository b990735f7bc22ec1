"""Recipes over seeds: `compare`'s JSON lines grouped by recipe (run names matching a pattern), each group's mean
over its seeds with the seeds' standard deviation, and the panel's rule (`registry.beats`) of every group against
the first. Pooled this way the rule's noise margin is the seeds' spread, not one run's draws', so a gap one seed
could make is not a win (docs/results.md, "The defaults on the panel").

    python -m gan_mnist compare RUN... --n 10000 --draws 5 > rows.jsonl   # one or more files of rows
    python tools/seed_means.py rows.jsonl [more.jsonl] --group default='d32_s*' --group lr3='lr3_s*'

Prints one JSON line per group: its runs, the panel's FD / floor, precision and recall (means and sds over seeds),
and, after the first group, `beats` and `why_not` against it, and `beats_on_means`: the rule with no noise margin.
"""

import argparse
import fnmatch
import json
from pathlib import Path

from gan_mnist.evaluation.registry import beats, columns, pool_draws

COLUMNS = columns(("fd_ratio", "precision", "recall"))  # every panel member's

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("rows", nargs="+", type=Path, help="files of `compare` JSON lines")
parser.add_argument("--group", action="append", required=True, metavar="NAME=PATTERN",
                    help="a recipe: the runs whose name (its last path part) matches the glob PATTERN; the first "
                         "group is the baseline")
args = parser.parse_args()

rows = [json.loads(line) for path in args.rows for line in path.read_text().splitlines() if line.strip()]
groups = {}
for spec in args.group:
    name, sep, pattern = spec.partition("=")
    if not sep:
        parser.error(f"--group wants NAME=PATTERN, got {spec!r}")
    runs = {Path(r["run"]).name: r for r in rows if fnmatch.fnmatch(Path(r["run"]).name, pattern)}
    if len(runs) < 2:
        parser.error(f"group {name}: {len(runs)} run(s) match {pattern!r}; seeds need two or more")
    # each seed's score (already a mean over its draws) is one value of the group's sample: its sd is the seeds'
    groups[name] = (sorted(runs), pool_draws([{c: runs[run][c] for c in COLUMNS} for run in sorted(runs)]))

baseline = next(iter(groups.values()))[1]
for i, (name, (runs, pooled)) in enumerate(groups.items()):
    line = {"group": name, "runs": runs}
    for col in COLUMNS:
        line[col], line[f"{col}_sd"] = round(pooled[col], 4), round(pooled[f"{col}_sd"], 4)
    if i:
        line["beats"], reasons = beats(pooled, baseline)
        line["why_not"] = "; ".join(reasons)
        # the weaker reading: each group's means taken as exact (without their _sd columns: no noise margin)
        line["beats_on_means"] = beats({c: pooled[c] for c in COLUMNS}, {c: baseline[c] for c in COLUMNS})[0]
    print(json.dumps(line))
