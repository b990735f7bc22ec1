"""A run owns only its own files: the marker, `--force` and checkpoint pruning by name, the lock, resume that never
silently starts over, and `sample --out DIR/` that never mixes two generators. Each case as a user hits it: the
CLI, in a folder holding a stranger's files that must survive byte for byte."""

import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gan_mnist import TrainConfig
from gan_mnist.networks import build_models
from gan_mnist.run.directory import LOCK, MARKER, atomic_path, claim, clear, owned_files
from tests.conftest import assert_usage_error, run_cli, snapshot, write_fake_mnist

STRANGERS = {  # a stranger's files in and around a run directory, as the issue found them deleted
    "config.json": b"{}",  # every Hugging Face model folder has one
    "checkpoints/resnet50_best.pt": b"weights",
    "frames/vacation/beach.png": b"a holiday picture",
    "tensorboard/other_exp/events.out.tfevents.1.host": b"another experiment",
    "generators/notes.txt": b"notes",
}


def put(root, files):
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


@pytest.fixture
def tiny(tmp_path):
    """Flags of a one-second MLP run on 20 fake images."""
    data = write_fake_mnist(tmp_path / "data.npz")
    return ["--data", data, "--limit", 20, "--batch-size", 4, "--model", "mlp", "--quiet"]


def test_a_folder_of_someone_elses_files_is_refused_even_with_force(tmp_path, tiny, cli):
    put(tmp_path / "d", STRANGERS)
    before = snapshot(tmp_path / "d")
    code, _, err = cli("train", "--out", tmp_path / "d", "--force", "--epochs", 1, *tiny)
    assert_usage_error(code, err, f"is not a gan_mnist run directory (it has no {MARKER})")
    assert "config.json" in err
    assert snapshot(tmp_path / "d") == before


@pytest.mark.parametrize("files", [
    {"history.csv": b"epoch\n7\n", "losses.png": b"mine", "generator.keras": b"my model"},
    {"checkpoints/epoch_0002.npz": b"mine", "checkpoints/epoch_0003.npz": b"mine too"},
    {"frames": b"a file where the run puts a folder"},
])
def test_plain_train_never_overwrites_a_users_files(files, tmp_path, tiny, cli):
    put(tmp_path / "d", files)
    before = snapshot(tmp_path / "d")
    code, _, err = cli("train", "--out", tmp_path / "d", "--epochs", 1, *tiny)
    assert_usage_error(code, err, "holds names a run directory uses")
    assert snapshot(tmp_path / "d") == before


def test_force_deletes_only_what_the_run_wrote(tmp_path, tiny, cli):
    out, outside = tmp_path / "run", tmp_path / "outside"
    put(outside, {"frames/epoch_0001.png": b"not the run's, behind a link"})
    assert cli("train", "--out", out, "--epochs", 3, *tiny)[0] == 0
    # unrelated files beside the run's own in a folder a run made: a user's notes, a stranger's checkpoint,
    # a link to a folder elsewhere that holds a file named like a frame
    put(out, {name: data for name, data in STRANGERS.items() if name != "config.json"})
    put(out, {"notes.txt": b"mine", "checkpoints/best.npz": b"my best checkpoint"})
    (out / "frames" / "elsewhere").symlink_to(outside / "frames", target_is_directory=True)
    strangers = {k: v for k, v in snapshot(out).items()
                 if k in ("notes.txt", "checkpoints/best.npz", "frames/elsewhere", "frames/vacation", "generators",
                          "tensorboard/other_exp") or k.startswith(tuple(n for n in STRANGERS if n != "config.json"))}
    assert len(strangers) == 10
    outside_before = snapshot(outside)

    code, _, err = cli("train", "--out", out, "--force", "--epochs", 1, "--seed", 3, *tiny)
    assert code == 0, err
    after = snapshot(out)
    assert {k: after.get(k) for k in strangers} == strangers, "every stranger's file and folder survives"
    assert snapshot(outside) == outside_before, "a link is never followed"
    assert sorted(p.name for p in (out / "frames").glob("epoch_*.png")) == ["epoch_0001.png"]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["best.npz", "epoch_0001.npz", "resnet50_best.pt"]
    assert pd.read_csv(out / "history.csv")["epoch"].tolist() == [1]


def test_checkpoint_pruning_counts_only_the_runs_own_checkpoints(tmp_path, tiny, cli):
    out = tmp_path / "run"
    assert cli("train", "--out", out, "--epochs", 1, *tiny)[0] == 0
    put(out, {"checkpoints/best.npz": b"mine", "checkpoints/epoch_0001_copy.npz": b"mine too"})
    assert cli("train", "--out", out, "--resume", "--epochs", 3, *tiny)[0] == 0
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "best.npz", "epoch_0001_copy.npz", "epoch_0002.npz", "epoch_0003.npz"]


def test_a_folder_with_only_unrelated_files_becomes_a_run_and_keeps_them(tmp_path, tiny, cli):
    put(tmp_path / "d", {"notes.txt": b"mine", "frames/vacation/beach.png": b"a holiday picture"})
    before = snapshot(tmp_path / "d")
    code, _, err = cli("train", "--out", tmp_path / "d", "--epochs", 1, *tiny)
    assert code == 0, err
    assert (tmp_path / "d" / MARKER).is_file()
    after = snapshot(tmp_path / "d")
    assert {k: after[k] for k in before} == before


def test_clear_and_owned_files_go_by_name_patterns(tmp_path):
    run = tmp_path / "run"
    put(run, {"history.csv": b"", "frames/epoch_0001.png": b"", "frames/epoch_12345.png": b"",
              "frames/.epoch_0002.0123456789abcdef.tmp.png": b"", "frames/epoch_1.png": b"", "frames/cat.png": b"",
              "tensorboard/train/events.out.tfevents.1.h.2.v2": b"", "tensorboard/other/events.out.tfevents.1": b"",
              "frames/sub/epoch_0001.png": b"", MARKER: b"", LOCK: b""})
    owned = {p.relative_to(run).as_posix() for p in owned_files(run)}
    assert owned == {"history.csv", "frames/epoch_0001.png", "frames/epoch_12345.png",
                     "frames/.epoch_0002.0123456789abcdef.tmp.png", "tensorboard/train/events.out.tfevents.1.h.2.v2"}
    clear(run)
    left = {p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file()}
    assert left == {"frames/epoch_1.png", "frames/cat.png", "tensorboard/other/events.out.tfevents.1",
                    "frames/sub/epoch_0001.png", MARKER, LOCK}
    assert not (run / "tensorboard" / "train").exists(), "an owned folder left empty goes"


def test_temporary_names_are_unique_and_removed_on_failure(tmp_path):
    with atomic_path(tmp_path / "history.csv") as a, atomic_path(tmp_path / "history.csv") as b:
        assert a != b and a.suffix == b.suffix == ".csv"
        a.write_text("one")
        b.write_text("two")
    assert (tmp_path / "history.csv").read_text() in ("one", "two")
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "config.json") as c:
        c.write_text("half")
        raise RuntimeError
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv"]


HOLD = "import sys, time; from gan_mnist.run.directory import locked\nwith locked(sys.argv[1]):\n    " \
       "print('locked', flush=True); time.sleep(600)"


def test_a_locked_run_is_refused_naming_the_process_and_a_killed_one_leaves_no_lock(tmp_path, tiny, cli):
    out = tmp_path / "run"
    assert cli("train", "--out", out, "--epochs", 1, *tiny)[0] == 0
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = snapshot(out)
        for argv in (["--resume", "--epochs", 2], ["--force", "--epochs", 1]):
            code, _, err = cli("train", "--out", out, *argv, *tiny)
            assert_usage_error(code, err, f"is in use by process {holder.pid} on ")
        assert snapshot(out) == before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the kernel dropped the dead process's lock: no stale lock file to remove by hand
    code, _, err = cli("train", "--out", out, "--resume", "--epochs", 2, *tiny)
    assert code == 0, err


@pytest.mark.slow
def test_two_trainers_started_together_one_trains_the_other_is_refused(tmp_path, mnist_path):
    out = tmp_path / "run"
    args = ["train", "--out", out, "--epochs", 4, "--limit", 4096, "--batch-size", 64, "--model", "mlp",
            "--data", mnist_path, "--quiet"]
    assert run_cli(*args[:4], "1", *args[5:]).returncode == 0
    both = [subprocess.Popen([sys.executable, "-m", "gan_mnist", *map(str, args), "--resume"], text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = sorted((p.wait(timeout=600), p.stderr.read()) for p in both)
    assert results[0] == (0, ""), results
    assert_usage_error(*results[1], "is in use by process")
    assert pd.read_csv(out / "history.csv")["epoch"].tolist() == [1, 2, 3, 4]


def test_resume_with_no_readable_checkpoint_is_an_error_that_changes_nothing(tmp_path, tiny, cli):
    out = tmp_path / "run"
    assert cli("train", "--out", out, "--epochs", 2, *tiny)[0] == 0
    for path in (out / "checkpoints").iterdir():
        path.write_bytes(path.read_bytes()[:100])  # truncated, as a full disk leaves them
    before = snapshot(out)
    code, _, err = cli("train", "--out", out, "--resume", "--epochs", 3, *tiny)
    assert_usage_error(code, err, "no checkpoint is readable (tried ")
    assert "epoch_0002.npz" in err and "epoch_0001.npz" in err
    assert snapshot(out) == before, "the history of the lost epochs is not rewritten"


def test_resume_with_the_checkpoints_gone_is_an_error_and_force_starts_over(tmp_path, tiny, cli):
    out = tmp_path / "run"
    assert cli("train", "--out", out, "--epochs", 2, *tiny)[0] == 0
    for path in (out / "checkpoints").iterdir():
        path.unlink()
    before = snapshot(out)
    code, _, err = cli("train", "--out", out, "--resume", "--epochs", 3, *tiny)
    assert_usage_error(code, err, "history.csv records 2 epochs but")
    assert snapshot(out) == before
    with pytest.warns(UserWarning, match="starting over"):
        code, _, err = cli("train", "--out", out, "--resume", "--force", "--epochs", 1, *tiny)
    assert code == 0, err
    assert pd.read_csv(out / "history.csv")["epoch"].tolist() == [1]


def test_resume_before_the_first_checkpoint_starts_the_run(tmp_path, tiny, cli):
    # a run killed in its first epoch has no checkpoint and no history: nothing is lost by starting it
    out = tmp_path / "run"
    assert cli("train", "--out", out, "--epochs", 1, *tiny)[0] == 0
    (out / "history.csv").unlink()
    (out / "checkpoints" / "epoch_0001.npz").unlink()
    code, _, err = cli("train", "--out", out, "--resume", "--epochs", 1, *tiny)
    assert code == 0, err
    assert pd.read_csv(out / "history.csv")["epoch"].tolist() == [1]


@pytest.fixture(scope="module")
def two_generators(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generators")
    for seed in (1, 2):
        import keras

        keras.utils.set_random_seed(seed)
        build_models("mlp", latent_dim=8, width=0.25)[0].save(folder / f"g{seed}.keras")
    return folder / "g1.keras", folder / "g2.keras"


def test_sample_never_mixes_two_generators_in_one_folder(two_generators, tmp_path, cli):
    first, second = two_generators
    pngs = tmp_path / "pngs"
    assert cli("sample", "--generator", first, "--n", 20, "--out", f"{pngs}/")[0] == 0
    (pngs / "notes.txt").write_text("mine")
    before = snapshot(pngs)
    code, _, err = cli("sample", "--generator", second, "--n", 10, "--out", f"{pngs}/")
    assert_usage_error(code, err, "already holds 20 sample_NNNNN.png files: pass --force")
    assert snapshot(pngs) == before
    code, _, err = cli("sample", "--generator", second, "--n", 10, "--out", f"{pngs}/", "--force")
    assert code == 0, err
    assert sorted(p.name for p in pngs.iterdir()) == ["notes.txt"] + [f"sample_{i:05d}.png" for i in range(10)]
    assert (pngs / "notes.txt").read_text() == "mine"
    # the ten are the second generator's: the same as its .npz
    assert cli("sample", "--generator", second, "--n", 10, "--out", tmp_path / "s.npz")[0] == 0
    from PIL import Image

    written = np.stack([np.asarray(Image.open(pngs / f"sample_{i:05d}.png")) for i in range(10)])
    np.testing.assert_array_equal(written, np.load(tmp_path / "s.npz")["images"])


@pytest.mark.parametrize("out", ["s.npz", "s.png"])
def test_sample_replaces_an_existing_file_only_with_force(out, two_generators, tmp_path, cli):
    (tmp_path / out).write_bytes(b"mine")
    code, _, err = cli("sample", "--generator", two_generators[0], "--n", 10, "--out", tmp_path / out)
    assert_usage_error(code, err, "already exists: pass --force")
    assert (tmp_path / out).read_bytes() == b"mine"
    assert cli("sample", "--generator", two_generators[0], "--n", 10, "--out", tmp_path / out, "--force")[0] == 0
    assert (tmp_path / out).read_bytes() != b"mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [out], "no temporary file left behind"


def test_the_lock_file_names_no_process_once_the_run_ends(tmp_path, tiny, cli):
    out = tmp_path / "run"
    assert cli("train", "--out", out, "--epochs", 1, *tiny)[0] == 0
    assert (out / LOCK).read_text() == ""
    assert os.path.getsize(out / MARKER) > 0


def test_without_file_locks_a_run_goes_on_and_says_so(tmp_path, monkeypatch):
    from gan_mnist.run.directory import locked

    monkeypatch.setitem(sys.modules, "fcntl", None)  # as on Windows: `import fcntl` fails
    with pytest.warns(UserWarning, match="nothing stops a second process"), locked(tmp_path / "run"):
        assert (tmp_path / "run").is_dir()


# a run's folders as links to a stranger's folders (the repro): refused before anything is written
@pytest.mark.parametrize("folder", ["checkpoints", "frames", "tensorboard", "generators", "workers"])
@pytest.mark.parametrize("how", [["--force"], ["--resume"], []])
def test_a_linked_folder_of_the_run_is_refused_and_its_targets_files_survive(folder, how, tmp_path, tiny, cli):
    out = tmp_path / "r"
    claim(out)  # a run, as far as the folder check goes (it runs before anything else)
    TrainConfig(model="mlp", batch_size=4, limit=20).save(out / "config.json")
    put(out, {"frames/epoch_0001.png": b"", "checkpoints/epoch_0001.npz": b"", "generators/epoch_0001.keras": b""})
    stranger = tmp_path / "theirs"
    put(stranger, {"epoch_0001.png": b"P", "epoch_0001.npz": b"S", "epoch_0005.npz": b"S", "epoch_0006.npz": b"S",
                   "events.out.tfevents.1.host": b"E", "epoch_0001.keras": b"K", "1/config.json": b"{}"})
    if (out / folder).exists():
        for path in sorted((out / folder).rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        (out / folder).rmdir()
    (out / folder).symlink_to(os.path.relpath(stranger, out))
    before = snapshot(tmp_path)
    code, _, err = cli("train", "--out", out, *how, "--epochs", 2, *tiny)
    assert_usage_error(code, err, f"{out / folder} -> ")
    assert "must be real folders it made" in err
    assert snapshot(tmp_path) == before


def test_a_folder_linked_during_a_run_is_never_written_through_nor_listed(tmp_path):
    from gan_mnist.errors import GanMnistError
    from gan_mnist.run.directory import epoch_files, real_folder

    put(tmp_path / "theirs", {"epoch_0001.npz": b"S", "epoch_0002.npz": b"S"})
    (tmp_path / "checkpoints").symlink_to("theirs")
    assert epoch_files(tmp_path / "checkpoints", ".npz") == [], "pruning lists nothing behind a link"
    assert [p.name for p in epoch_files(tmp_path / "theirs", ".npz")] == ["epoch_0001.npz", "epoch_0002.npz"]
    with pytest.raises(GanMnistError, match="became a symbolic link"):
        real_folder(tmp_path / "checkpoints")
    assert real_folder(tmp_path / "new" / "frames").is_dir()


@pytest.fixture(scope="module")
def trained_three_epochs(tmp_path_factory):
    """A finished 3-epoch tiny run (checkpoints of epochs 2 and 3 kept) and its data, trained once."""
    from gan_mnist.cli import main

    folder = tmp_path_factory.mktemp("three")
    data = write_fake_mnist(folder / "data.npz")
    flags = ["--data", str(data), "--limit", "20", "--batch-size", "4", "--model", "mlp", "--quiet"]
    assert main(["train", "--out", str(folder / "run"), "--epochs", "3", *flags]) == 0
    return folder / "run"


@pytest.fixture
def three_epochs(trained_three_epochs, tmp_path, tiny):
    """A copy of that run in tmp_path/run, for a test to damage (`tiny`'s data is the same fake MNIST)."""
    shutil.copytree(trained_three_epochs, tmp_path / "run")
    return tmp_path / "run"


def _checkpoint(out, name, epoch=None, nan=False):
    """Write out/checkpoints/NAME by hand: the newest real checkpoint with another epoch counter, or NaN weights;
    the run's own checkpoints deleted."""
    newest = sorted((out / "checkpoints").glob("epoch_*.npz"))[-1]
    with np.load(newest) as f:
        arrays = {k: f[k] for k in f.files}
    for path in (out / "checkpoints").iterdir():
        path.unlink()
    if epoch is not None:
        arrays["epoch"] = epoch
    if nan:
        arrays["g.0000"] = np.full_like(arrays["g.0000"], np.nan)
    np.savez(out / "checkpoints" / name, **arrays)


@pytest.mark.parametrize("damage, message", [
    (lambda out: (out / "history.csv").write_bytes(b"\x00\xffgarbage\n1,2\n"), "history.csv is not a run's history"),
    (lambda out: (out / "history.csv").write_text(""), "history.csv is not a run's history"),
    (lambda out: (out / "history.csv").unlink(), "history.csv is missing (the checkpoint is at epoch 3)"),
    (lambda out: (out / "history.csv").write_text("epoch,d_loss\n1,0.5\n"), "does not record epochs 1-3"),
    (lambda out: (out / "config.json").unlink(), "holds checkpoints but no config.json"),
    (lambda out: _checkpoint(out, "epoch_0003.npz", epoch=np.array("x")), "no checkpoint is readable"),
    (lambda out: _checkpoint(out, "epoch_0003.npz", epoch=np.array(-5)), "no checkpoint is readable"),
    (lambda out: _checkpoint(out, "epoch_1000000000000.npz", epoch=np.array(10**12)),
     "has trained 1000000000000 epochs, more than epochs=3"),
    (lambda out: _checkpoint(out, "epoch_0003.npz", nan=True), "no checkpoint is readable"),
], ids=["garbage history", "empty history", "deleted history", "history short of the checkpoint",
        "deleted config", "epoch 'x'", "epoch -5", "epoch 1e12", "NaN weights"])
def test_a_damaged_run_is_refused_on_resume_and_nothing_changes(damage, message, three_epochs, tiny, cli):
    damage(three_epochs)
    before = snapshot(three_epochs)
    code, _, err = cli("train", "--out", three_epochs, "--resume", *tiny)
    assert_usage_error(code, err, message)
    assert snapshot(three_epochs) == before


def test_resume_with_fewer_epochs_than_trained_is_refused_and_nothing_changes(three_epochs, tiny, cli):
    before = snapshot(three_epochs)
    code, _, err = cli("train", "--out", three_epochs, "--resume", "--epochs", 1, *tiny)
    assert_usage_error(code, err, "has trained 3 epochs, more than epochs=1: a resumed run only goes on")
    assert snapshot(three_epochs) == before


def test_a_nan_checkpoint_is_skipped_for_the_last_finite_one(three_epochs, tiny, cli):
    with np.load(three_epochs / "checkpoints" / "epoch_0003.npz") as f:
        arrays = {k: f[k] for k in f.files}
    arrays["g.0000"] = np.full_like(arrays["g.0000"], np.nan)
    np.savez(three_epochs / "checkpoints" / "epoch_0003.npz", **arrays)
    with pytest.warns(UserWarning, match="epoch_0003.npz holds NaN or infinite values"):
        code, _, err = cli("train", "--out", three_epochs, "--resume", "--epochs", 4, *tiny)
    assert code == 0, err
    assert pd.read_csv(three_epochs / "history.csv")["epoch"].tolist() == [1, 2, 3, 4]


# SIGKILL right after each file an epoch end writes (callbacks.EpochBook), in epoch 1 (before any checkpoint), and
# after epoch 2's history row (its checkpoint not yet written): --resume then ends with an uninterrupted run's history
KILL_AFTER = [("_write_csv", 1), ("save_grid", 1), ("write_run_pictures", 1), ("save_generator", 1),
              ("save_checkpoint", 1), ("_write_csv", 2)]
_KILLER = """
import os, signal, sys
import gan_mnist.run.callbacks as callbacks
from gan_mnist.cli import main
name, at = sys.argv[1], int(sys.argv[2])
original, calls = getattr(callbacks, name), []
def killing(*args, **kwargs):
    result = original(*args, **kwargs)
    calls.append(1)
    if len(calls) == at:  # each is called once per epoch (save_generator first for generator.keras)
        os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(callbacks, name, killing)
sys.exit(main(sys.argv[3:]))
"""
TIMING = ["seconds", "wall_s"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """(the flags of a 2-epoch tiny run, its history without timings), trained once without interruption."""
    from gan_mnist.cli import main

    folder = tmp_path_factory.mktemp("whole")
    flags = ["--epochs", "2", "--data", str(write_fake_mnist(folder / "data.npz")), "--limit", "20", "--batch-size",
             "4", "--model", "mlp", "--quiet"]
    assert main(["train", "--out", str(folder / "run"), *flags]) == 0
    return flags, pd.read_csv(folder / "run" / "history.csv").drop(columns=TIMING)


@pytest.mark.slow
@pytest.mark.parametrize("step, epoch", KILL_AFTER)
def test_a_run_killed_at_any_step_of_an_epoch_resumes_to_the_same_history(step, epoch, uninterrupted, tmp_path,
                                                                          cli):
    flags, whole = uninterrupted
    out = str(tmp_path / "run")
    child = subprocess.run([sys.executable, "-c", _KILLER, step, str(epoch), "train", "--out", out, *flags],
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr
    code, _, err = cli("train", "--out", out, "--resume", *flags)
    assert code == 0, err
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "run" / "history.csv").drop(columns=TIMING), whole)
    assert len(list((tmp_path / "run" / "frames").glob("epoch_*.png"))) == 2


def test_a_second_sampler_into_the_same_folder_or_forced_file_is_refused(two_generators, tmp_path, cli):
    from gan_mnist.run.directory import holding

    mlp = two_generators[0]
    (tmp_path / "pngs").mkdir()
    put(tmp_path, {"pngs/mine.txt": b"mine", "s.npz": b"an older sample file", "s.png": b"an older grid"})
    before = snapshot(tmp_path)
    for out in ("pngs/", "s.npz", "s.png"):
        with holding(tmp_path / out):  # another sampler is writing there
            code, _, err = cli("sample", "--generator", mlp, "--n", 10, "--out", f"{tmp_path}/{out}", "--force")
        assert_usage_error(code, err, "is being written by another process")
    assert snapshot(tmp_path) == before


def test_a_file_that_appears_while_sampling_is_never_replaced(tmp_path):
    from gan_mnist.errors import GanMnistError

    target = tmp_path / "s.npz"
    with pytest.raises(GanMnistError, match="appeared while this was written"):
        with atomic_path(target, exclusive=True) as tmp:
            tmp.write_bytes(b"ours")
            target.write_bytes(b"another process's")
    assert target.read_bytes() == b"another process's" and sorted(os.listdir(tmp_path)) == ["s.npz"]
