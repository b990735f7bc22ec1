"""The run directory: every name inside it, the marker that says gan_mnist made it, its lock, and what `force` may
delete.

A folder is a run only if it carries MARKER. A folder without it is used only if it holds nothing a run would
write (a new folder, an empty one, or one with unrelated files, which are left alone). `clear` deletes the files a
run writes, by name pattern (`frames/epoch_0001.png`, never `frames/*`), never a folder that still holds anything
else, and never follows a symbolic link. A folder a run makes (frames/, checkpoints/, ...) that is a symbolic link
is refused before anything is written: a run writes, lists for pruning and deletes only in folders it made. The
lock is an OS file lock (flock): the kernel releases it when its process dies, so a killed run leaves no stale
lock behind.

Imports nothing heavy: the CLI checks `--out` with it before TensorFlow is loaded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import re
import secrets
import socket
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from gan_mnist.errors import GanMnistError

# names inside a run directory
MARKER, LOCK = ".gan_mnist_run", ".gan_mnist.lock"
CONFIG, HISTORY, LOSS_PLOT, GIF = "config.json", "history.csv", "losses.png", "training.gif"
GENERATOR, BEST = "generator.keras", "best.keras"  # the run's sampler at its end, and at its best FD
EVALUATIONS = "evaluations.jsonl"  # every `evaluate` of the run's generators: one JSON object per line, appended
FRAMES, CHECKPOINTS, SNAPSHOTS, TENSORBOARD = "frames", "checkpoints", "generators", "tensorboard"
TB_SCALARS, TB_SAMPLES = "train", "samples"  # TensorBoard "runs" inside TENSORBOARD: Keras's scalars, our grids
WORKERS = "workers"  # multi-worker training: worker k's own run directory is WORKERS/k (see distribute.worker_dir)


def epoch_file(epoch: int, suffix: str) -> str:
    """The per-epoch file name: epoch_0007.png (frames), .npz (checkpoints), .keras (generator snapshots)."""
    return f"epoch_{epoch:04d}{suffix}"


@dataclasses.dataclass(frozen=True)
class Layout:
    """What gan_mnist writes in a folder of one kind: its marker, and (folder, file-name regex) of every file."""

    what: str  # e.g. "run directory"
    marker: str
    owned: tuple[tuple[str, str], ...]
    folders: tuple[str, ...]  # the folders it makes, deepest first (the order `clear` removes empty ones in)


_EPOCH = r"epoch_\d{4,}"
RUN = Layout(
    what="run directory", marker=MARKER,
    owned=(
        ("", "|".join(re.escape(n) for n in (CONFIG, HISTORY, LOSS_PLOT, GIF, GENERATOR, BEST, EVALUATIONS))),
        (FRAMES, _EPOCH + r"\.png"),
        (CHECKPOINTS, _EPOCH + r"\.npz"),
        (SNAPSHOTS, _EPOCH + r"\.keras"),
        (f"{TENSORBOARD}/{TB_SCALARS}", r"events\.out\.tfevents\.[^/]+"),
        (f"{TENSORBOARD}/{TB_SAMPLES}", r"events\.out\.tfevents\.[^/]+"),
    ),
    folders=(f"{TENSORBOARD}/{TB_SCALARS}", f"{TENSORBOARD}/{TB_SAMPLES}", TENSORBOARD, FRAMES, CHECKPOINTS,
             SNAPSHOTS),
)
# a `tune` study folder: study.db (unless the study lives in a database server), trials/NNNN (each trial a run
# directory of its own), the leaderboard, the best trial's preset, Optuna's plots, the best trials' runs with
# further seeds (confirm/NNNN_seedS, run directories too) and their scores
STUDY_DB, TRIALS, RESULTS, BEST_PRESET, PLOTS = "study.db", "trials", "trials.csv", "best_preset.json", "plots"
CONFIRM, CONFIRM_CSV = "confirm", "confirm.csv"
STUDY = Layout(what="study folder", marker=".gan_mnist_study", folders=(),
               owned=(("", "|".join(re.escape(n) for n in (STUDY_DB, TRIALS, RESULTS, BEST_PRESET, PLOTS, CONFIRM,
                                                           CONFIRM_CSV))
                       + r"|study\.db-(journal|wal|shm)"),))
LAYOUTS = (RUN, STUDY)  # a folder is of one kind at most
_TEMP = re.compile(r"\.(?P<stem>.+)\.[0-9a-f]{16}\.tmp(?P<suffix>\.[^.]*)?")  # see atomic_path


def epoch_of(name: str, suffix: str, min_digits: int = 4) -> int | None:
    """The epoch an epoch_NNNN{suffix} file name stands for; None for any other name.

    `epoch_file` pads to 4 digits, so listings take only such names; a checker of a file the user points at passes
    min_digits=1 to read epoch_5.npz too."""
    match = re.fullmatch(rf"epoch_(\d{{{min_digits},}})" + re.escape(suffix), name)
    return int(match[1]) if match else None


def snapshot_epoch(path: str | os.PathLike) -> int | None:
    """The epoch of a run's generator snapshot RUN/generators/epoch_NNNN.keras (`--save-every`); None for any other
    path."""
    path = Path(path)
    return epoch_of(path.name, ".keras") if path.parent.name == SNAPSHOTS else None


def epoch_files(folder: str | os.PathLike, suffix: str, last_epoch: int | None = None) -> list[Path]:
    """folder/epoch_NNNN{suffix} files in epoch order, up to `last_epoch` (frames, checkpoints, snapshots)."""
    if Path(folder).is_symlink():  # never listed through a link: what is behind it is not the run's
        return []
    found = [(epoch_of(path.name, suffix), path) for path in Path(folder).glob("epoch_*" + suffix)]
    return [path for epoch, path in sorted(f for f in found if f[0] is not None)
            if last_epoch is None or epoch <= last_epoch]


def _owned_name(name: str, pattern: str) -> bool:
    temp = _TEMP.fullmatch(name)
    if temp:  # a temporary file of atomic_path, left by a process killed mid-write
        name = temp["stem"] + (temp["suffix"] or "")
    return re.fullmatch(pattern, name) is not None


def owned_files(out: str | os.PathLike, layout: Layout = RUN, folders_too: bool = False) -> list[Path]:
    """The files in `out` that gan_mnist writes there (and their temporary files), by name, for `clear`;
    `folders_too` adds folders with such names. Symbolic links to folders are not followed; marker and lock are
    not listed."""
    out = Path(out)
    found = []
    for folder, pattern in layout.owned:
        where = out / folder if folder else out
        if not _real_dir(where):
            continue
        for entry in os.scandir(where):
            if (folders_too or not entry.is_dir(follow_symlinks=False)) and _owned_name(entry.name, pattern):
                found.append(Path(entry.path))
    return sorted(found)


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _obstacles(out: Path, layout: Layout) -> list[str]:
    """What in `out` is in the way: files (or folders) at names gan_mnist would write, and its folders' names
    taken by a file or a link."""
    return [p.relative_to(out).as_posix() for p in owned_files(out, layout, folders_too=True)] + _taken_folders(
        out, layout)


def _taken_folders(out: Path, layout: Layout) -> list[str]:
    """The folders `layout` makes in `out` whose names a symbolic link or a file holds (checked outermost first, so
    a linked tensorboard/ is named, not the folders under it)."""
    found = []
    for folder in sorted((*layout.folders, *((WORKERS,) if layout is RUN else ())), key=len):
        if any(folder.startswith(f + "/") for f in found):
            continue
        path = out / folder
        if os.path.lexists(path) and not _real_dir(path):
            found.append(folder)
    return found


NAME_MAX, PATH_MAX = 255, 4096  # the longest file name and path most file systems take (Linux, macOS, NTFS)


def _check_length(out: Path, what: str) -> None:
    """Refuse a path a file system would refuse half-way, after making its parents."""
    long = [part for part in out.parts if len(os.fsencode(part)) > NAME_MAX]
    if long or len(os.fsencode(os.path.abspath(out))) > PATH_MAX:
        which = f"its part {long[0][:40]}... is {len(os.fsencode(long[0]))} bytes long" if long else (
            f"it is {len(os.fsencode(os.path.abspath(out)))} bytes long")
        raise GanMnistError(f"{what} is too long for a file system ({which}; the most is {NAME_MAX} bytes per name, "
                            f"{PATH_MAX} in all); nothing was created")


def is_run(out: str | os.PathLike, layout: Layout = RUN) -> bool:
    """True when `out` carries the marker of a gan_mnist run directory (or of `layout`'s kind of folder)."""
    return os.path.lexists(Path(out) / layout.marker)


def nearest_existing(path: Path) -> Path:
    """`path` itself, or its nearest parent, that exists (a dangling link counts: something is there)."""
    return next((p for p in (path, *path.parents) if p.exists() or p.is_symlink()), Path("."))


def check_folder(out: str | os.PathLike, what: str = "--out", layout: Layout | None = RUN) -> Path:
    """Refuse, with one line, a path gan_mnist cannot own: a name too long, a file, a path under a file; and for a
    `layout` (None: any folder will do), a folder of another kind, one whose sub-folders are links or files, or one
    without the marker that already holds files it would write. Returns `out` as a Path; touches nothing."""
    out = Path(out)
    _check_length(out, what)
    parent = nearest_existing(out)
    if not parent.is_dir():
        where = "is" if parent == out else f"is under {parent}, which is"
        raise GanMnistError(f"{what} {out} {where} a file, not a folder")
    if layout is None or not out.is_dir():
        return out
    for other in LAYOUTS:
        if other is not layout and is_run(out, other) and not is_run(out, layout):
            raise GanMnistError(f"{what} {out} is a gan_mnist {other.what} (it has {other.marker}), not a "
                                f"{layout.what}; nothing was changed: choose another folder")
    taken = _taken_folders(out, layout) if is_run(out, layout) else []  # (in other folders: obstacles, below)
    if taken:
        links = [f"{out / f} -> {os.readlink(out / f)}" if (out / f).is_symlink() else f"{out / f} (a file)"
                 for f in taken]
        raise GanMnistError(f"{', '.join(links)}: a {layout.what}'s folders must be real folders it made (it writes "
                            f"and deletes files in them, never through a link); nothing was changed: remove "
                            f"{'it' if len(taken) == 1 else 'them'} (a link's target stays as it is) or choose "
                            "another folder")
    if not is_run(out, layout):
        obstacles = _obstacles(out, layout)
        if obstacles:
            shown = ", ".join(obstacles[:5]) + (f" and {len(obstacles) - 5} more" if len(obstacles) > 5 else "")
            raise GanMnistError(
                f"{out} is not a gan_mnist {layout.what} (it has no {layout.marker}) but holds names a "
                f"{layout.what} uses ({shown}); nothing was changed: choose a new or empty folder (if gan_mnist "
                f"made it, mark it with: touch {out / layout.marker})")
    return out


def real_folder(path: str | os.PathLike) -> Path:
    """`path` made if needed (parents too), refused when it is a symbolic link: where a run writes during training
    (another process may have put a link there since the run's start)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        raise GanMnistError(f"{path} became a symbolic link during the run: a run writes only in folders it made; "
                            "nothing was written there")
    return path


def claim(out: str | os.PathLike, layout: Layout = RUN) -> None:
    """Mark `out` (created if needed) as a gan_mnist run directory (or `layout`'s kind of folder)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not is_run(out, layout):
        note = {"what": f"a gan_mnist {layout.what}",
                "files": "gan_mnist writes, and `--force` deletes, only files of its own names here "
                         "(config.json, history.csv, frames/epoch_NNNN.png, ...); anything else is left alone"}
        atomic_write_bytes(out / layout.marker, (json.dumps(note, indent=2) + "\n").encode())


def clear(out: str | os.PathLike) -> list[Path]:
    """Delete the files a run wrote in `out` (see owned_files), then its folders that are left empty; the marker,
    the lock and anything else stay. Returns the deleted files."""
    out = Path(out)
    removed = owned_files(out)
    for path in removed:
        path.unlink(missing_ok=True)
    for folder in RUN.folders:
        path = out / folder
        if _real_dir(path):
            with contextlib.suppress(OSError):  # not empty: someone else's files are in it
                path.rmdir()
    return removed


def remove_temporaries(out: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that processes killed mid-write left in `out` (call it holding the lock: then no
    writer is alive). Returns them."""
    left = [p for p in owned_files(out) if _TEMP.fullmatch(p.name)]
    for path in left:
        path.unlink(missing_ok=True)
    return left


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, exclusive: bool = False) -> Iterator[Path]:
    """A unique temporary name beside `path` (same suffix, for writers that go by it) to write to; renamed onto
    `path` when the block ends without error, deleted when it raises. Two processes never share a temporary name.
    `exclusive`: never replace a `path` that exists by then (another process wrote it meanwhile): an error."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(8)}.tmp{path.suffix}")
    try:
        yield tmp
        if exclusive:
            _publish_new(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _publish_new(tmp: Path, path: Path) -> None:
    """Give `tmp` the name `path` only if nothing has it: a hard link is created or refused in one step."""
    taken = GanMnistError(f"{path} appeared while this was written (another process wrote it): it was not replaced; "
                          "choose another name, or --force (force=True) to replace it")
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise taken from None
    except OSError:  # a file system without hard links (FAT, some network ones): checked, then renamed
        if os.path.lexists(path):
            raise taken from None
        os.replace(tmp, path)


@contextlib.contextmanager
def holding(path: str | os.PathLike, wait: bool = False) -> Iterator[None]:
    """An exclusive lock on a file or folder for the block (an OS lock on it: nothing is written, the kernel drops
    it when the process dies); a second holder is refused with one line, or with `wait` waits for the first. A
    path that does not exist yet has nothing to lock: an exclusive create (atomic_path) guards it."""
    try:
        import fcntl  # POSIX (Linux, macOS, Colab)
    except ImportError:  # Windows: no flock
        yield
        return
    if not os.path.exists(path):
        yield
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GanMnistError(f"{path} is being written by another process (a second `sample` into it?): wait "
                                "for it to finish, or choose another --out") from None
        except OSError as e:
            if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
        yield
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` via a unique temporary file, fsync and rename: never a half-written file."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def append_line(path: str | os.PathLike, record: dict) -> None:
    """Append `record` as one JSON line to `path`, atomically (the file is written anew and renamed): a crash leaves
    the old lines or all of them, never half a line."""
    path = Path(path)
    old = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
    atomic_write_bytes(path, old + (json.dumps(record) + "\n").encode())


@contextlib.contextmanager
def locked(out: str | os.PathLike) -> Iterator[None]:
    """Hold the run directory's lock (creating the folder if needed) for the block; a second holder, in this or
    another process, is refused with one line naming the process that has it."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl  # POSIX (Linux, macOS, Colab)
    except ImportError:  # Windows: no flock; go on, saying so
        warnings.warn(f"cannot lock {out} on this system: nothing stops a second process from using it",
                      stacklevel=3)
        yield
        return
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 500, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise GanMnistError(f"{out} is in use by {holder}: wait for it to finish, or stop it") from None
    except OSError as e:
        if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
            os.close(fd)
            raise
        # some network and FUSE file systems have no locks: go on, saying that the run is not protected
        warnings.warn(f"cannot lock {out} ({e.strerror}): nothing stops a second process from using it",
                      stacklevel=3)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} on {socket.gethostname()} (since {time.strftime('%Y-%m-%d %H:%M:%S')})"
                  .encode(), 0)
        yield
    finally:
        os.ftruncate(fd, 0)
        os.close(fd)  # closing releases the lock
