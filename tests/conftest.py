"""Shared fixtures. Tests read MNIST from $GAN_MNIST_DATA (CI: ../shared/data/mnist.npz) and never download."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from gan_mnist.config import TrainConfig

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Under pytest-xdist each worker gets its share of the cores for TensorFlow's thread pools (inherited by the child
# processes and notebook kernels it starts). TensorFlow's default, a pool as wide as the machine in every process,
# oversubscribes the CPU: two learning tests side by side on two workers run faster with one thread each
# (docs/results.md, "The learning tests")
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _threads = str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for _var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(_var, _threads)
# the real digits' features (evaluation/feature_cache.py) are kept for this test run only, in one folder that both
# workers, their child processes and notebook kernels share: never in the user's own cache
if "GAN_MNIST_CACHE" not in os.environ:
    _run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"{os.getpid()}"
    os.environ["GAN_MNIST_CACHE"] = str(Path(tempfile.gettempdir()) / f"gan_mnist_test_features_{_run}")
_DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist.npz"
if not os.environ.get("GAN_MNIST_DATA") and _DEFAULT_DATA.is_file():
    os.environ["GAN_MNIST_DATA"] = str(_DEFAULT_DATA)


# CI (`--dist loadfile --no-loadscope-reorder`) hands whole modules to its two workers in this order, the next one
# to whichever worker is free. The longest go first, so that neither worker ends the run alone on a minutes-long test
# (longest processing time first). Seconds: each module's tests in a run of tools/test.sh alone on a CPU with
# native bfloat16 (one core's threads per worker); the rest follow in collection order.
LONGEST_FIRST = (
    "tests/test_tune_study.py",  # 184 s
    "notebooks/05_gan_recipes.ipynb",  # its bench cell 78 s, its comparison 46 s, its trainings 18 s
    "tests/test_resume.py",  # 150 s: four SIGKILL-and-resume runs, 17-57 s each
    "tests/test_run_directory.py",  # 145 s: children killed at each write of an epoch, 8-10 s each
    "tests/test_learning.py",  # 136 s
    "tests/test_cli.py",  # 132 s
    "tests/test_tune.py",  # 109 s: a killed trial 71 s, PostgreSQL 36 s
    "tests/test_learning_cgan.py",  # 91 s
    "tests/test_distribute.py",  # 87 s
    "tests/test_bench.py",  # 70 s
    "notebooks/06_tune_recipes.ipynb",  # 68 s
    "tests/test_precision.py",  # 66 s
    "tests/test_panel.py",  # 65 s
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Puts LONGEST_FIRST's modules first, in that order; a module's own tests (a notebook's cells) keep theirs."""
    rank = {module: i for i, module in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


# the one tiny config of the tests that train: 2 epochs of 128 images (a variant is TINY.replace(...)), on the MLP,
# the cheapest networks (the default, self_resize, has its own: test_clustering, test_resume, test_learning)
TINY = TrainConfig(model="mlp", epochs=2, batch_size=64, limit=128, grid_size=3, latent_dim=32)


def runs_here(policy: str) -> bool:
    """Whether this machine trains in precision `policy` (run.precision refuses bf16 where oneDNN has no bfloat16
    kernels, and on GPUs before compute capability 8.0)."""
    from gan_mnist.errors import GanMnistError
    from gan_mnist.run.precision import choose, detect

    try:
        choose(policy, detect())
    except GanMnistError:
        return False
    return True


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    path = os.environ.get("GAN_MNIST_DATA")
    if not path or not Path(path).is_file():
        pytest.fail("set GAN_MNIST_DATA to Keras's mnist.npz (CI uses ../shared/data/mnist.npz)")
    return Path(path)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, mnist_path):
    """One finished TINY run (MLP + EMA), trained once per test process and shared by the tests
    that only read a run (its TrainResult; its folder is result.out_dir). Tests that change a run train their own."""
    from gan_mnist import train

    return train(TINY, tmp_path_factory.mktemp("tiny") / "run", data_path=mnist_path, verbose=0)


@pytest.fixture(scope="session")
def small_images(mnist_path) -> np.ndarray:
    """The first 256 real training images, float32 (256, 28, 28, 1) in [-1, 1]."""
    from gan_mnist.run.data import load_training_images

    return load_training_images(mnist_path, limit=256)


@pytest.fixture(scope="session")
def small_labels(mnist_path) -> np.ndarray:
    """Labels uint8 (256,) of `small_images`."""
    from gan_mnist.run.data import load_training_data

    return load_training_data(mnist_path, limit=256)[1]


def write_fake_mnist(path: Path, **overrides) -> Path:
    """A tiny npz in Keras's layout; `overrides` replace or (with None) drop arrays."""
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 20).astype(np.uint8),
        "x_test": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 10).astype(np.uint8),
    }
    for key, value in overrides.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    np.savez(path, **arrays)
    return path


def picture(path: Path) -> np.ndarray:
    """The PNG at `path` as uint8 RGB (H, W, 3)."""
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"))


def assert_curves_drawn(path: Path, size: tuple[int, int], curves: int = 2) -> None:
    """The plot at `path` is `size` (width, height) pixels and shows its first `curves` curves' marker colours (the
    first colours of matplotlib's colour cycle)."""
    import matplotlib

    pixels = picture(path)
    assert pixels.shape[1::-1] == size, (path, pixels.shape)
    colours = {tuple(int(v) for v in c) for c in np.unique(pixels.reshape(-1, 3), axis=0)}
    for colour in matplotlib.rcParams["axes.prop_cycle"].by_key()["color"][:curves]:
        rgb = tuple(round(255 * v) for v in matplotlib.colors.to_rgb(colour))
        assert rgb in colours, f"{path}: no curve drawn in {colour}"


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under `root`, links not followed: a file's sha256, "dir", or "link -> target"."""
    import hashlib

    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = f"link -> {os.readlink(path)}"
            elif path.is_dir():
                found[key] = "dir"
            else:
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def run_cli(*args, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m gan_mnist ARGS` in a child process, as a user runs it (text output captured)."""
    return subprocess.run([sys.executable, "-m", "gan_mnist", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=600)


@pytest.fixture
def cli(capsys):
    """Run the CLI's entry point in this process (no TensorFlow start-up per call): (exit code, stdout, stderr)."""
    from gan_mnist.cli import main

    def run(*args) -> tuple[int, str, str]:
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse's own errors and --help leave through SystemExit
            code = e.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def assert_usage_error(code: int, err: str, message: str) -> None:
    """The house format for bad input: exit code 2 and exactly one `error:` line naming the problem, no traceback."""
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert message in err, err


# `tune`'s tiny trials (test_tune, test_tune_study): 1,024 images, a 3-second training budget, FD reports, objectives
# and confirmations on 500 samples. A trial ends at the first epoch end past its budget, and its model is the
# sampler's pick (seeded by --seed and the trial's number): on 4,096 images one epoch of the resize_proj networks
# (searched as self_resize) took 46 s on one core
TUNE_SMALL = ("--budget-minutes", "0.05", "--limit", "1024", "--eval-samples", "500", "--final-samples", "500",
              "--confirm-samples", "500", "--quiet")


def tune_process(out: Path, *extra) -> subprocess.Popen:
    """`python -m gan_mnist tune --out OUT` with TUNE_SMALL and `extra`, started in a child process (text pipes)."""
    return subprocess.Popen([sys.executable, "-m", "gan_mnist", "tune", "--out", str(out), *TUNE_SMALL, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def trials_table(out: Path):
    """A study folder's trials.csv as a DataFrame indexed by trial number."""
    import pandas as pd

    return pd.read_csv(out / "trials.csv", index_col="trial")


@pytest.fixture
def read_only():
    """A function that makes a folder read-only for this process: as root (whom permissions do not stop) a read-only
    bind mount of it, otherwise chmod 555; skips, saying why, where the mount is not allowed."""
    mounted, chmodded = [], []

    def make(path: Path) -> Path:
        if os.getuid() != 0:
            path.chmod(0o555)
            chmodded.append(path)
            return path
        if subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True).returncode:
            pytest.skip("cannot bind-mount a folder read-only here (root without CAP_SYS_ADMIN)")
        mounted.append(path)
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], capture_output=True).returncode:
            pytest.skip("cannot remount a folder read-only here")
        return path

    yield make
    for path in mounted:
        subprocess.run(["umount", str(path)], capture_output=True)
    for path in chmodded:
        path.chmod(0o755)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def free_port():
    """A function returning a TCP port on 127.0.0.1 that nothing listens on (for servers and TF workers)."""
    return _free_port


@pytest.fixture(scope="session")
def postgres_url():
    """A SQLAlchemy URL, password included, of a throwaway PostgreSQL server started on 127.0.0.1 (Debian's
    `postgresql` package, which .ci/run installs) that asks for that password; skips, saying why, where the server
    cannot start."""
    import glob
    import secrets
    import shutil
    import tempfile

    initdb = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))), None)
    if initdb is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run does)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'psycopg[binary]'; requirements.txt has it)")
    bin_dir = Path(initdb).resolve().parent  # (/usr/local/bin may hold a link to initdb alone)
    root = Path(tempfile.mkdtemp(prefix="gan_mnist_pg_"))
    password = "pw-" + secrets.token_hex(8)
    (root / "pwfile").write_text(password + "\n")
    as_user = []
    if os.getuid() == 0:  # the server refuses to run as root: run it as Debian's `postgres` user
        shutil.chown(root, "postgres")
        shutil.chown(root / "pwfile", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()

    def step(*cmd):
        done = subprocess.run([*as_user, *map(str, cmd)], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PGPASSWORD": password})
        if done.returncode:
            pytest.skip(f"could not start PostgreSQL ({Path(str(cmd[0])).name}: {done.stderr.strip()[-300:]})")

    # every connection must give the password (scram-sha-256), as on a shared database server
    step(bin_dir / "initdb", "-D", root / "data", "-U", "gan", "--auth=scram-sha-256", "--pwfile", root / "pwfile",
         "-E", "UTF8")
    step(bin_dir / "pg_ctl", "-D", root / "data", "-l", root / "server.log", "-w", "-t", "60", "-o",
         f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        step(bin_dir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "gan", "gan_mnist")
        yield f"postgresql://gan:{password}@127.0.0.1:{port}/gan_mnist"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
