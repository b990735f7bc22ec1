"""A run owns only its own files: the marker, `--force` and checkpoint pruning by name, the lock, resume that never
silently starts over, and `sample --out DIR/` that never mixes two generators. Each case as a user hits it: the
CLI, in a folder holding a stranger's files that must survive byte for byte."""

import os
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gan_mnist.networks import build_models
from gan_mnist.run.directory import LOCK, MARKER, atomic_path, clear, owned_files
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
