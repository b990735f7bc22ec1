"""Command line: `python -m gan_mnist train|sample ...`, the same jobs as the notebooks, headless."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import tempfile
import time
import warnings
from pathlib import Path

from gan_mnist.config import FIELD_TYPES, GROUPS, MODELS, TrainConfig, config_fields, flag, preset_flags
from gan_mnist.errors import GanMnistError, NonFinite
from gan_mnist.evaluation import MIN_SAMPLES as MIN_EVAL_SAMPLES
from gan_mnist.evaluation.panel import MEMBERS as PANEL
from gan_mnist.evaluation.registry import HOLD, OBJECTIVE, baseline_of, parse_metrics
from gan_mnist.evaluation.registry import METRICS as METRIC_NAMES
from gan_mnist.experiments.tune_arguments import SAMPLES, TUNE_BOUNDS
from gan_mnist.limits import DRAWS, MAX_GRID, MAX_SAMPLES, MAX_SEED, Bounds
from gan_mnist.presets import BENCHED, DEFAULT_RUNS, LEADERBOARD, PRESETS
from gan_mnist.recipes import (
    ARCHITECTURE_FIELDS,
    ARCHITECTURES,
    LOSSES,
    NO_PENALTY,
    PENALTIES,
    default_every,
    penalty_names,
)
from gan_mnist.run.directory import (
    CONFIG,
    EVALUATIONS,
    GENERATOR,
    STUDY,
    append_line,
    check_folder,
    holding,
    is_run,
    locked,
    nearest_existing,
)


def _table_help(table: dict) -> str:
    return "; ".join(f"{name}: {entry.about}" for name, entry in table.items())


def _penalty_arg(text: str) -> str:
    """--penalty: 'none', a PENALTIES name, or several joined by commas."""
    if text != NO_PENALTY and not all(name in PENALTIES for name in penalty_names(text)):
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {', '.join(PENALTIES)}, several "
                                         f"joined by commas, or {NO_PENALTY})")
    return text


def _in(integer: bool, bounds: Bounds):
    """An argparse type: an int (or a float) within `bounds`, else "must be {bounds}" (limits.Bounds: the one way a
    range is stated and checked, as TrainConfig's fields and tune()'s arguments are)."""

    def parse(text: str):
        try:
            value = (int if integer else float)(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {bounds.describe(integer)}, got {text!r}") from None
        if not bounds.holds(value):
            raise argparse.ArgumentTypeError(f"must be {bounds.describe(integer)}, got {text}")
        return value

    return parse


def _positive_int(most: int):
    return _in(True, Bounds(1, most))


_seed = _in(True, Bounds(0, MAX_SEED))
_eval_count = _in(True, SAMPLES)


def _shown(value) -> str:
    """A default as --help shows it."""
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def default_help(field: dataclasses.Field) -> str:
    """The default of a TrainConfig field as --help states it: its value, or for the fields an architecture
    decides, each model's (models sharing a value named together)."""
    if field.name in ARCHITECTURE_FIELDS:
        by_value: dict = {}
        for model, arch in ARCHITECTURES.items():
            by_value.setdefault(_shown(arch.defaults[field.name]), []).append(model)
        return "default per model: " + "; ".join(f"{'/'.join(models)} {value}" for value, models in by_value.items())
    if field.name == "gamma":
        return "default: the penalty's, " + ", ".join(f"{k} {v.gamma:g}" for k, v in PENALTIES.items())
    if field.name == "penalty_every":
        own = [f"{name}'s own {arch.defaults['penalty']} {arch.penalty_every}" for name, arch in ARCHITECTURES.items()
               if arch.penalty_every is not None]
        return "default: the penalty's, " + ", ".join([*(f"{k} {default_every(k)}" for k in PENALTIES), *own])
    return f"default {_shown(field.default)}"


# extra help for flags whose choices are table entries
_TABLES = {"model": ARCHITECTURES, "loss": LOSSES, "penalty": PENALTIES}


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, in the config's groups: name, type, choices and help from the field's
    metadata, the default from the config itself (dest: the field's name; unset flags are None)."""
    groups = {name: parser.add_argument_group(f"{name} (TrainConfig fields)") for name in GROUPS}
    for field in config_fields():
        kinds = FIELD_TYPES[field.name] - {type(None)}
        meta = field.metadata
        options: dict = {"dest": field.name}
        if bool in kinds:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = _penalty_arg if field.name == "penalty" else (
                float if float in kinds else int if int in kinds else str)
            if meta["metavar"]:
                options["metavar"] = meta["metavar"]
        if meta["choices"]:
            options["choices"] = meta["choices"]
        table = f" {_table_help(_TABLES[field.name])}" if field.name in _TABLES else ""
        bounds = f": {meta['bounds'].describe(int in kinds)}" if meta["bounds"] else ""
        options["help"] = f"{meta['help']}{bounds} ({default_help(field)}).{table}".replace("%", "%%")
        groups[meta["group"]].add_argument(flag(field.name), **options)


class _Parser(argparse.ArgumentParser):
    """argparse with the house error format (one `error:` line and exit code 2, no usage dump) and help that shows
    each option's default once, from the parser."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, formatter_class=_Formatter, **kwargs)

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.HelpFormatter):
    """Appends "(default X)" to an option's help from its default (none for the flags that are off or unset, nor
    where the help states the default itself, as TrainConfig's per-model defaults do)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if "(default" in text or default is None or default is False or default == argparse.SUPPRESS or \
                not action.option_strings:
            return text
        return f"{text} (default {_shown(action.default)})"


_DATA_HELP = ("MNIST in Keras's .npz layout (train: also a folder of IDX files) (default: $GAN_MNIST_DATA, or for "
              "--dataset fashion_mnist $GAN_MNIST_FASHION_DATA, then Keras's download)")


def _shared(seed: str | None = None, n: str | None = None, n_default: int = 5000) -> argparse.ArgumentParser:
    """A parent parser of the options several commands share: --data, and where given the help of --seed (an
    integer for numpy) and of --n (a count of samples to score)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--data", type=Path, help=_DATA_HELP)
    if seed:
        parent.add_argument("--seed", type=_seed, default=0, help=seed)
    if n:
        parent.add_argument("--n", type=_eval_count, default=n_default, help=f"{n}, {MIN_EVAL_SAMPLES} to "
                                                                             f"{MAX_SAMPLES:,}")
        parent.add_argument("--draws", type=_in(True, DRAWS), default=1,
                            help=f"score this many draws of --n samples (noise seeds --seed, --seed + 1, ...) and "
                                 f"report each metric's mean and its standard deviation as COLUMN_sd; "
                                 f"{DRAWS.describe(True)} (default 1). fd_ratio varies from draw to draw "
                                 f"(docs/panel.md): decide between close recipes on several")
    return parent


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m gan_mnist", description="Train and sample GANs on MNIST.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in (_add_train, _add_evaluate, _add_compare, _add_train_evaluator, _add_bench, _add_tune, _add_sample):
        add(sub)
    return p


def _add_train(sub) -> None:
    t = sub.add_parser("train", parents=[_shared()],
                       help="train a GAN; writes frames, GIF, history, plots, generator and checkpoints",
                       description="Train a GAN. Unset options take the defaults shown, or on --resume the "
                                   "values saved in DIR/config.json.")
    t.add_argument("--out", required=True, type=Path, help="run directory: a new or empty folder, or one that "
                                                          "gan_mnist made (it carries a .gan_mnist_run marker)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.add_argument("--force", action="store_true", help="discard the run in --out and start over: deletes only the "
                                                        "files a run writes (never other files in the folder)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--devices", type=_positive_int(4096),
                   help="train data-parallel on N GPUs (tf.distribute.MirroredStrategy), "
                        "--batch-size being the global batch; without GPUs, on N logical "
                        "CPUs (a way to check multi-device runs, not faster)")
    _add_recipe_flags(t)


def _add_evaluate(sub) -> None:
    e = sub.add_parser("evaluate", parents=[_shared(seed="noise seed", n="samples to draw from --generator (a "
                                                                           "--samples file holds at most as many)")],
                       help="quality metrics of a generator or of saved samples, as one JSON object",
                       description="Score generated digits against MNIST's test split on the panel of yardsticks ("
                                   + ", ".join(PANEL) + "): in each member's feature space the Fréchet distance "
                                   "(fd), the same over the real digits' floor (fd_ratio), the kernel distance "
                                   "(kid), precision and recall; with the shipped CNN the MNIST score, class "
                                   "coverage, conditional accuracy, and a memorisation check. Columns of the "
                                   "shipped CNN carry the metric's name, the others name_member (fd_wide).")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--generator", type=Path, help="generator.keras to sample from")
    src.add_argument("--samples", type=Path, help=".npz with uint8 `images` (N, 28, 28) [and `labels`]")
    e.add_argument("--metrics", type=_metric_names, help="only these metrics, comma-separated, from: "
                   + ", ".join(METRIC_NAMES) + " (default: all that apply)")
    e.add_argument("--table", action="store_true", help="also print a readable table")
    e.add_argument("--plot", type=Path, help="also draw a bar chart per digit into this PNG: conditional accuracy "
                                             "(conditional generators or labelled samples), else each digit's "
                                             "share of the samples")


def _add_compare(sub) -> None:
    c = sub.add_parser("compare", parents=[_shared(seed="noise seed", n="samples per run")],
                       help="one table of quality metrics for several run directories")
    c.add_argument("runs", nargs="+", type=Path, help="run directories (each with generator.keras), or a run's "
                                                      "snapshots RUN/generators/epoch_NNNN.keras (--save-every)")
    c.add_argument("--markdown", action="store_true", help="print a Markdown table instead of JSON lines")
    c.add_argument("--raw", action="store_true", help="runs with an EMA generator get a second row: their raw "
                                                      "generator (from the newest checkpoint)")
    c.add_argument("--against", type=Path, metavar="DIR",
                   help="one of the runs: every other row, real digits' too, gets beats, whether it beats that "
                        "run on the panel (lower FD / floor on every member, precision and recall each at most "
                        f"{HOLD} lower: docs/panel.md), and why_not")


def _add_train_evaluator(sub) -> None:
    v = sub.add_parser("train-evaluator", parents=[_shared(seed="seed of the weights and the batches")],
                       help="retrain a panel member: the shipped evaluator CNN (rewriting its card), or another "
                            "member's shipped weights")
    v.add_argument("--member", choices=PANEL, default="cnn", help="which member of the panel: " + "; ".join(
                       f"{name}, {member.about}" for name, member in PANEL.items()))
    v.add_argument("--epochs", type=_positive_int(1000),
                   help="training epochs (default: the member's, " + ", ".join(
                       f"{name} {member.epochs}" for name, member in PANEL.items()) + ")")


def _add_bench(sub) -> None:
    b = sub.add_parser("bench", parents=[_shared()],
                       help="training speed (images/s) of each model vs the TensorFlow tutorial's loop",
                       description="Time a fixed number of training steps after a warm-up (median of --repeats "
                                   "windows), for the TensorFlow DCGAN tutorial's loop and for each model in each "
                                   "precision the device has kernels for and with its speed settings. The first "
                                   "line names the device and what --mixed-precision auto picks there, and why.")
    b.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS),
                   help="architectures to time (default all)")
    b.add_argument("--batch-size", type=_positive_int(65_536), default=256, help="batch size of our setups (the "
                                                                                 "tutorial's)")
    b.add_argument("--steps", type=_positive_int(100_000), default=30, help="timed steps per setup")
    b.add_argument("--warmup", type=_positive_int(100_000), default=5, help="untimed steps first")
    b.add_argument("--repeats", type=_positive_int(1000), default=3,
                   help="timed windows of --steps per setup; the median counts")
    b.add_argument("--limit", type=_positive_int(100_000_000), default=15360,
                   help="training images to draw batches from")
    b.add_argument("--presets", nargs="*", choices=list(PRESETS), default=list(BENCHED), metavar="NAME",
                   help="also time the whole train() path (pipeline, frames, GIF, plots, checkpoints) of these "
                        "presets, 3 epochs of --limit images each (" + ", ".join(
                            f"`{('train ' + preset_flags(name)).strip()}` is {name}" for name in DEFAULT_RUNS)
                        + "); the table gives each run's length in tutorial-loop epochs (run_tl_epochs) "
                        f"(default {' '.join(BENCHED)}; none: --presets)")
    b.add_argument("--train-flags", nargs="+", default=[], metavar="FLAGS",
                   help="also time the train() path of `train FLAGS`, one quoted string of train's recipe flags per "
                        "setup (e.g. \"--d-scale 3 --d-growth 2\"; --preset and --preset-file too), as --presets "
                        "does: candidates timed in one process share its tutorial-loop row, while separate "
                        "processes differ by that row's swing")
    b.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    b.add_argument("--check-device", action="store_true",
                   help="only check this machine (a GPU's name and compute capability, or the CPU's instruction "
                        "set): what auto picks and why, images/s of the default's step in float32 and each 16-bit "
                        "precision the device has, and one epoch of the default on --limit images")


# `tune`'s options, each spelled once: flag -> (tune()'s keyword, add_argument options; a number's type and bounds
# come from tune_arguments.TUNE_BOUNDS). _tune passes them on
_TUNE_OPTIONS = {
    "--n-trials": ("n_trials", {"default": 20, "help": "complete or pruned trials the study should reach, counting "
                                                       "those already there"}),
    "--budget-minutes": ("budget_minutes", {"default": 10.0, "help": "training time per trial"}),
    "--timeout-minutes": ("timeout_minutes", {
        "metavar": "M", "help": "start no trial (or confirmation run) after M minutes; those running finish, and the "
                                "same command later goes on (default: no limit)"}),
    "--storage": ("storage", {
        "help": "Optuna storage URL shared by workers, e.g. postgresql://user@host/db with the password in "
                "~/.pgpass (mode 0600), or postgresql:///?service=NAME for a libpq service file; a password written "
                "in the URL shows in `ps` and shell history, and is masked in every message (default: "
                "sqlite:///DIR/study.db)"}),
    "--study-name": ("study_name", {"default": "gan_mnist", "help": "study name inside the storage"}),
    "--limit": ("limit", {"help": "train on the first N images only (default: all)"}),
    "--stale-after": ("stale_after", {
        "default": 120.0, "help": "a trial whose worker sent no heartbeat for this many seconds is marked failed and "
                                  "re-run, resuming its run directory"}),
    "--eval-samples": ("eval_samples", {"default": 2000, "help": "samples per in-trial FD report"}),
    "--final-samples": ("final_samples", {"default": 5000, "help": "samples behind a trial's objective, the panel's "
                                                                   "worst FD / real floor; one study keeps one count"}),
    "--confirm-samples": ("confirm_samples", {"default": 10_000, "help": "samples behind each confirmed seed's "
                                                                         "numbers"}),
    "--confirm": ("confirm_top", {
        "default": 0, "metavar": "K",
        "help": "then train the K best complete trials again with other seeds at the same budget and score every "
                "seed on --confirm-samples samples: DIR/confirm/, DIR/confirm.csv (default 0: no confirmation)"}),
    "--seeds": ("seeds", {"default": 3, "help": "seeds per confirmed trial, its own run included"}),
}


def _add_recipe_flags(parser: argparse.ArgumentParser) -> None:
    """--preset, --preset-file and one flag per TrainConfig field: what `train` reads a recipe from."""
    named = [name for name in PRESETS if name not in (*DEFAULT_RUNS, *LEADERBOARD)]
    presets = "; ".join(f"{name}: " + ", ".join(f"{k}={v}" for k, v in PRESETS[name].items()) for name in named)
    parser.add_argument("--preset", choices=list(PRESETS), metavar="NAME",
                        help=f"named settings (gan_mnist.presets), other flags override them: {presets}; "
                             f"{', '.join(DEFAULT_RUNS)}: bare `train` and --model cgan / mlp; the leaderboard of "
                             f"docs/recipes.md: {', '.join(LEADERBOARD)}")
    parser.add_argument("--preset-file", type=Path,
                        help="named settings from a JSON file of config fields, e.g. the best_preset.json that "
                             "`tune` writes (applied after --preset; other flags override it)")
    _add_config_flags(parser)


class _FlagsParser(_Parser):
    """Parses one --train-flags string of `bench`, `text`: an error names it, as one line (GanMnistError)."""

    def __init__(self, text: str):
        super().__init__(add_help=False)
        self.text = text

    def error(self, message: str):
        raise GanMnistError(f"--train-flags {self.text!r}: {message}")


def _recipe_config(text: str) -> TrainConfig:
    """The TrainConfig that `train TEXT` would run (train's recipe flags only: no --out, --resume)."""
    parser = _FlagsParser(text)
    _add_recipe_flags(parser)
    try:
        words = shlex.split(text)
    except ValueError as e:  # an unclosed quote
        parser.error(str(e))
    args = parser.parse_args(words)
    try:
        return TrainConfig(**_given_fields(args))
    except GanMnistError as e:  # a value out of range, a preset file that is not one
        parser.error(str(e))


def _add_tune(sub) -> None:
    seed = "seed of every trial's training and of the sampler's draws (trial N's from the seed and N)"
    u = sub.add_parser("tune", parents=[_shared(seed=seed)],
                       help="search recipes with Optuna for the best FD in a training-time budget",
                       description="Hyperparameter search (Optuna: TPE sampler, margin pruner) over architecture, "
                                   "loss, penalty and its weight, spectral norm, EMA, Adam, width and batch. Each "
                                   "trial trains for --budget-minutes of training time into DIR/trials/NNNN and "
                                   "scores it on the panel. Run it again to resume; run it on several machines "
                                   "with one --storage URL to share the study. Writes DIR/trials.csv, "
                                   "DIR/best_preset.json (for train --preset-file) and DIR/plots/*.png.")
    u.add_argument("--out", required=True, type=Path, help="study folder (study.db, trials/, results)")
    for option, (keyword, settings) in _TUNE_OPTIONS.items():
        if keyword in TUNE_BOUNDS:  # a number: parsed within its bounds, shown after the help as train's flags show
            integer, bounds = TUNE_BOUNDS[keyword]  # theirs (before a default the help states)
            text, _, default = settings["help"].partition(" (default")
            settings = {**settings, "type": _in(integer, bounds),
                        "help": f"{text}: {bounds.describe(integer)}" + (f" (default{default}" if default else "")}
        u.add_argument(option, dest=keyword, **settings)
    u.add_argument("--quiet", action="store_true", help="no progress bar or per-trial log lines")


def _add_sample(sub) -> None:
    s = sub.add_parser("sample", help="write generated digits: an .npz like MNIST, a PNG grid, or one PNG each",
                       description="Draw digits from a trained generator. --out x.npz: uint8 images (N, 28, 28) "
                                   "[and labels]; --out x.png: one picture of all samples in a grid; --out DIR/ "
                                   "(a trailing slash or an existing folder): one 28x28 PNG per sample, the folder "
                                   "layout external FID tools read.")
    s.add_argument("--generator", required=True, type=Path, help="generator.keras, or a run directory holding it")
    s.add_argument("--n", type=int, default=100, help=f"number of images, at most {MAX_SAMPLES:,} ({MAX_GRID:,} for "
                                                      "a PNG grid)")
    s.add_argument("--out", required=True, help="output: FILE.npz, FILE.png or DIR/")
    s.add_argument("--force", action="store_true", help="replace an existing FILE, or the sample_NNNNN.png files "
                                                        "already in DIR/ (only those); without it, either is refused")
    s.add_argument("--seed", type=_seed, default=0, help="noise seed")
    s.add_argument("--labels", help="conditional models: a digit ('7'), one per sample ('0,1,1,...') or 'all' "
                                    "(equal numbers of each digit; the default)")


def _given_fields(args: argparse.Namespace) -> dict:
    """The config fields the flags, --preset-file and --preset give, in that order of precedence."""
    given = {f.name: getattr(args, f.name) for f in config_fields() if getattr(args, f.name) is not None}
    if args.preset_file:
        from gan_mnist.config import read_fields

        given = {**read_fields(args.preset_file), **given}  # flags given beside the preset file win
    if args.preset:
        given = {**PRESETS[args.preset], **given}  # flags and the preset file win over a named preset
    return given


def _train_config(args: argparse.Namespace) -> TrainConfig:
    given = _given_fields(args)
    saved = args.out / CONFIG
    if args.resume and is_run(args.out) and saved.exists():
        return TrainConfig.load(saved).replace(**given)
    return TrainConfig(**given)  # unset optimizer settings take the chosen model's defaults


def _train(args: argparse.Namespace) -> None:
    check_folder(args.out)  # argument errors first, before TensorFlow is loaded
    config = _train_config(args)
    import tensorflow as tf

    from gan_mnist.run.distribute import split_cpu
    from gan_mnist.run.training import train

    if args.devices and args.devices > 1 and not tf.config.list_physical_devices("GPU"):
        split_cpu(args.devices)
    start = time.perf_counter()
    result = train(config, args.out, data_path=args.data, resume=args.resume, force=args.force,
                   verbose=0 if args.quiet else "auto", devices=args.devices)
    summary = {"out": str(result.out_dir), "epochs": config.epochs, "seconds": round(time.perf_counter() - start, 1)}
    if not result.history.empty:
        last = result.history.iloc[-1]
        summary.update(d_loss=round(float(last["d_loss"]), 4), g_loss=round(float(last["g_loss"]), 4))
    print(json.dumps(summary))


def _sample_kind(out: str) -> str:
    """'npz', 'png' (one grid) or 'dir' (one PNG per sample), from how --out is written."""
    path = Path(out)
    if out.endswith(("/", "\\")) or path.is_dir():
        return "dir"
    if path.suffix in (".npz", ".png"):
        return path.suffix[1:]
    raise GanMnistError(f"--out must be FILE.npz, FILE.png or a folder ending in '/', got {out}")


def _sample(args: argparse.Namespace) -> None:
    kind = _sample_kind(args.out)
    limit = MAX_GRID if kind == "png" else MAX_SAMPLES
    if not 0 < args.n <= limit:
        raise GanMnistError(f"--n must be a positive integer up to {limit:,} for {kind} output, got {args.n}")
    out = Path(args.out)
    if kind == "dir":
        check_folder(out, "--out", layout=None)  # a folder, not a file or a path under one
    elif out.is_dir():
        raise GanMnistError(f"{out} is a folder: for one PNG per sample write it as {out}/")
    elif out.exists():
        if not args.force:
            raise GanMnistError(f"{out} already exists: pass --force to replace it, or choose another name")
    else:
        check_folder(out, "--out", layout=None)  # not a path under a file
    from gan_mnist.networks import is_conditional
    from gan_mnist.plotting import save_grid
    from gan_mnist.sample import (
        all_digit_labels,
        check_sample_folder,
        generate,
        load_generator,
        save_sample_pngs,
        save_samples,
    )

    if kind == "dir":
        check_sample_folder(out, args.force)  # before the generator loads: a refusal costs nothing
    generator = load_generator(args.generator)
    labels = _parse_labels(args.labels, args.n) if args.labels is not None else None
    if labels is None and is_conditional(generator):
        labels = all_digit_labels(args.n)
    if kind == "npz":
        path = save_samples(generator, args.n, out, seed=args.seed, labels=labels, force=args.force)
    elif kind == "png":
        # a conditional "all" grid gets one row per digit
        ncols = 10 if labels is not None and args.n % 10 == 0 else None
        grid = generate(generator, args.n, seed=args.seed, labels=labels)
        with holding(out):  # two samplers with --force: one refused
            path = save_grid(grid, out, ncols=ncols, exclusive=not args.force)
    else:
        path = save_sample_pngs(generator, args.n, out, seed=args.seed, labels=labels, force=args.force)
    print(json.dumps({"out": str(path), "n": args.n, "labels": args.labels or ("all" if labels is not None else None)}))


def _parse_labels(text: str, n: int):
    """'all' -> equal numbers of each digit; '7' or '0,1,2' -> integers (range checked by the sampler)."""
    from gan_mnist.sample import all_digit_labels

    if text.strip().lower() == "all":
        return all_digit_labels(n)
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise GanMnistError(f"--labels must be 'all', a digit or comma-separated digits, got {text!r}") from None


def _load_samples(path: Path):
    """(images float32 (N, 28, 28, 1) in [-1, 1], labels (N,) or None) of a samples .npz (evaluate_images checks
    their count and the labels)."""
    import zipfile

    import numpy as np

    from gan_mnist.run.data import to_model_range

    if not path.is_file():
        raise GanMnistError(f"samples file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise GanMnistError(f"{path}: not an .npz file (an .npz is a zip archive of arrays, like `sample` writes)")
    for name, shape in _npz_shapes(path).items():  # from the headers, before any array is read
        if shape and shape[0] > MAX_SAMPLES:
            raise GanMnistError(f"{path}: `{name}` holds {shape[0]:,} samples, more than the {MAX_SAMPLES:,} "
                                "`evaluate` reads")
    try:
        with np.load(path, allow_pickle=False) as f:
            images = f["images"] if "images" in f.files else None
            labels = f["labels"] if "labels" in f.files else None
    except Exception as e:  # a damaged archive raises zipfile, OS, value and EOF errors
        raise GanMnistError(f"{path}: not a readable .npz file ({type(e).__name__}: {e})") from None
    if images is None or images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise GanMnistError(f"{path}: needs an `images` array of uint8 (N, 28, 28), like `sample` writes")
    return to_model_range(images), labels


def _npz_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """The shape of each array in an .npz, read from the .npy headers only (nothing is loaded)."""
    import zipfile

    import numpy as np

    shapes = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as f:
                    major, _ = np.lib.format.read_magic(f)
                    read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                    shapes[info.filename[:-4]] = read(f)[0]
    except Exception as e:  # a damaged archive or header: zipfile, OS, value and EOF errors
        raise GanMnistError(f"{path}: not a readable .npz file ({type(e).__name__}: {e})") from None
    return shapes


def _metric_names(text: str) -> tuple[str, ...]:
    """--metrics a,b: registry names (argparse turns the error into a usage error)."""
    try:
        return parse_metrics(text)
    except GanMnistError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _evaluate(args: argparse.Namespace) -> None:
    if args.samples is not None and args.draws > 1:
        raise GanMnistError(f"--draws {args.draws} draws samples from a --generator; a --samples file is one draw")
    if args.plot is not None:
        if args.plot.suffix != ".png" or args.plot.exists():
            raise GanMnistError(f"--plot must name a new .png file, got {args.plot}"
                                + (" (it exists)" if args.plot.exists() else ""))
        check_folder(args.plot, "--plot", layout=None)  # not a path under a file
        folder = nearest_existing(args.plot.parent)
        with tempfile.TemporaryFile(dir=folder):  # a read-only folder is found out now, not after the metrics
            pass
    from gan_mnist.evaluation.registry import Reference, evaluate_images
    from gan_mnist.evaluation.report import evaluate_draws
    from gan_mnist.sample import load_generator

    if args.generator is not None:
        scores = evaluate_draws(load_generator(args.generator), args.n, args.seed, args.draws, Reference(args.data),
                                per_digit=True, metrics=args.metrics)
    else:
        images, labels = _load_samples(args.samples)
        scores = evaluate_images(images, labels, reference=Reference(args.data), per_digit=True, metrics=args.metrics)
    result = {"source": str(args.generator or args.samples), **scores}
    print(json.dumps({k: _rounded(v) for k, v in result.items()}))
    if args.generator is not None:
        _record_evaluation(args.generator, {"seed": args.seed, **result})
    if args.table:
        for key, value in result.items():
            if isinstance(value, list):  # one row per digit
                for digit, v in enumerate(value):
                    print(f"  {f'{key} {digit}':24s} {'-' if v is None else f'{v:.4f}'}")
            else:
                print(f"  {key:24s} {value:.4f}" if isinstance(value, float) else f"  {key:24s} {value}")
    if args.plot:
        from gan_mnist.plotting import plot_per_digit

        per_digit = ("digit_accuracy", "conditional accuracy") if "digit_accuracy" in result else (
            "class_share", "share of the samples")
        plot_per_digit({str(args.generator or args.samples): result[per_digit[0]]}, per_digit[1], args.plot)


def _record_evaluation(generator: Path, result: dict) -> None:
    """Append `result` to evaluations.jsonl of the run whose generator was scored (nothing for a generator outside
    a run directory), under the run's lock; a run in use by a trainer is told on stderr and left alone."""
    run = generator if generator.is_dir() else generator.parent
    if not is_run(run):
        return
    record = {"evaluated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "generator": generator.name
              if generator.is_file() else GENERATOR, **{k: _rounded(v) for k, v in result.items() if k != "source"}}
    try:
        with locked(run):
            append_line(run / EVALUATIONS, record)
    except GanMnistError as e:
        print(f"note: not recorded in {run / EVALUATIONS}: {e}", file=sys.stderr)


def _rounded(value):
    """Floats (and lists of them) to 4 decimals, for the JSON line."""
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return round(value, 4) if isinstance(value, float) else value


def _compare(args: argparse.Namespace) -> None:
    baseline_of(args.runs, args.against)  # a run not compared is an argument error, found before TensorFlow loads
    from gan_mnist.evaluation.report import compare_runs

    table = compare_runs(args.runs, n=args.n, seed=args.seed, data_path=args.data, raw=args.raw, draws=args.draws,
                         against=args.against)
    if args.markdown:
        print(table.round(3).to_markdown())  # pandas uses tabulate for this
    else:
        for run, row in table.iterrows():
            print(json.dumps({"run": run, **{k: (None if v != v else v) for k, v in row.items()}}))


def _train_evaluator(args: argparse.Namespace) -> None:
    from gan_mnist.evaluation.evaluator_training import train_evaluator, train_member

    if args.member == "cnn":
        record = train_evaluator(args.data, epochs=args.epochs or PANEL["cnn"].epochs, seed=args.seed)
    else:
        record = train_member(args.member, args.data, epochs=args.epochs, seed=args.seed)
    print(json.dumps(record, indent=2))


def _bench(args: argparse.Namespace) -> None:
    candidates = {f"train() {text}": _recipe_config(text) for text in args.train_flags}  # checked before TensorFlow
    from gan_mnist.experiments.bench import default_setups, device_check, device_header, preset_setups, run_benchmark
    from gan_mnist.run.data import load_training_data

    images, labels = load_training_data(args.data, args.limit)
    if args.batch_size > len(images):
        raise GanMnistError(f"--batch-size {args.batch_size} is larger than --limit {len(images)}")
    header = device_header()
    print(json.dumps(header) if args.json else f"device: {header['device']}\nauto picks {header['auto']}: "
          f"{header['why']}\n", flush=True)
    progress = None if args.json else lambda m: print(m, file=sys.stderr, flush=True)
    if args.check_device:
        table = device_check(images, labels, args.steps, args.warmup, args.repeats, progress=progress)
    else:
        table = run_benchmark(images, labels, default_setups(tuple(args.models), args.batch_size), args.steps,
                              args.warmup, args.repeats, progress=progress,
                              train_setups={**(preset_setups(tuple(args.presets)) if args.presets else {}),
                                            **candidates} or None)
    if args.json:
        for name, row in table.iterrows():
            values = {k: (None if v != v else v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            print(json.dumps({"setup": name, **values}))
    else:
        print(table.round({"images_per_s": 0, "s_per_epoch": 1, "epoch_overhead_s": 2, "vs_tutorial": 2,
                           "run_tl_epochs": 1, "seconds": 1}).to_markdown())


def _tune(args: argparse.Namespace) -> None:
    check_folder(args.out, "--out", STUDY)
    from gan_mnist.experiments.tune import tune

    options = {keyword: getattr(args, keyword) for keyword, _ in _TUNE_OPTIONS.values()}
    result = tune(args.out, data_path=args.data, seed=args.seed, progress=not args.quiet, **options)
    table = result.table
    columns = [c for c in ("state", OBJECTIVE, "fd", "precision", "recall", "epochs", "train_s", "param_model",
                           "param_loss", "param_penalty") if c in table]
    print(table[columns].head(10).round(3).to_markdown(), file=sys.stderr)
    summary = {"out": str(result.out_dir), "n_trials": len(table),
               "complete": int((table["state"] == "COMPLETE").sum()) if len(table) else 0,
               **{name: str(path) for name, path in result.files.items()}}
    if "best_preset" in result.files:
        summary.update({"best_trial": result.study.best_trial.number,
                        f"best_{OBJECTIVE}": round(result.study.best_value, 3)})
    if "confirm" in result.files:
        import pandas as pd

        from gan_mnist.experiments.confirm import summary as confirmed

        print(confirmed(pd.read_csv(result.files["confirm"])).round(3).to_markdown(), file=sys.stderr)
    print(json.dumps(summary))


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for bad input or a file system that refuses, 3 for a diverged run or a
    generator that draws NaN: a one-line message, no traceback)."""
    args = _parser().parse_args(argv)
    # our warnings (a slow precision, a checkpoint skipped) as one line each, without the source line
    warnings.formatwarning = lambda message, category, *rest, **kw: f"warning: {message}\n"
    try:
        commands = {"train": _train, "sample": _sample, "evaluate": _evaluate, "compare": _compare,
                    "train-evaluator": _train_evaluator, "bench": _bench, "tune": _tune}
        commands[args.command](args)
    except (GanMnistError, NonFinite) as e:
        print(f"error: {e}", file=sys.stderr)
        return 3 if isinstance(e, NonFinite) else 2
    except OSError as e:  # a read-only folder, a full disk, a path that is not what it should be
        where = f": {e.filename}" if e.filename else ""
        print(f"error: {e.strerror or e}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: what was written is whole (atomic files); a run goes on with --resume
        hint = f"; continue with: python -m gan_mnist train --resume --out {args.out}" if args.command == "train" else (
            "; the same command goes on where it stopped" if args.command == "tune" else "")
        print(f"\ninterrupted{hint}", file=sys.stderr)
        return 130
    return 0
