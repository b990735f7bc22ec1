"""Run directories on Google Drive in Colab: path logic with a fake Drive, and a "runtime reset" that resumes."""

from pathlib import Path

import pytest

from gan_mnist import GanMnistError, TrainConfig, run_dir, train
from gan_mnist.colab import in_colab


class FakeDrive:
    """Stands in for google.colab.drive.mount: counts calls and creates MyDrive like the real mount does."""

    def __init__(self, works: bool = True):
        self.calls, self.works = [], works

    def __call__(self, mount_point: Path) -> None:
        self.calls.append(mount_point)
        if not self.works:
            raise TimeoutError("authorisation was not given")
        (mount_point / "MyDrive").mkdir(parents=True)


def test_local_runs_stay_local_and_never_mount(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    drive = FakeDrive()
    assert run_dir("a", colab=False, mount_point=tmp_path / "drive", mount=drive) == Path("runs/a")
    assert run_dir("a", save_to_drive=False, colab=True, mount_point=tmp_path / "drive", mount=drive) == Path("runs/a")
    assert run_dir("a", colab=False, local_root="elsewhere") == Path("elsewhere/a")
    assert drive.calls == [] and list(tmp_path.iterdir()) == []  # nothing mounted, nothing created


def test_colab_mounts_drive_once_and_uses_a_folder_on_it(tmp_path):
    drive, mount_point = FakeDrive(), tmp_path / "drive"
    path = run_dir("01_dcgan_mnist", colab=True, mount_point=mount_point, mount=drive)
    assert path == mount_point / "MyDrive" / "gan_mnist_runs" / "01_dcgan_mnist" and path.is_dir()
    assert run_dir("other", colab=True, mount_point=mount_point, mount=drive).parent == path.parent
    assert drive.calls == [mount_point]  # the second call found Drive already mounted


@pytest.mark.parametrize("drive, message", [(FakeDrive(works=False), "TimeoutError: authorisation"),
                                            (lambda mount_point: None, "not mounted")])
def test_a_failed_mount_says_how_to_go_on(tmp_path, drive, message):
    with pytest.raises(GanMnistError, match=f"{message}.*SAVE_TO_DRIVE = False"):
        run_dir("run", colab=True, mount_point=tmp_path / "drive", mount=drive)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../up"])
def test_run_names_are_plain_folder_names(name):
    with pytest.raises(GanMnistError, match="plain folder name"):
        run_dir(name, colab=False)


def test_colab_is_detected_from_its_environment(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert not in_colab()  # this machine is not Colab
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261101")
    assert in_colab()


def test_rerunning_after_a_runtime_reset_resumes_from_drive(tmp_path, small_images):
    drive_disk = tmp_path / "drive"  # survives the "reset"; the VM's local disk does not
    config = TrainConfig(model="mlp", epochs=2, batch_size=64, grid_size=2)
    first = train(config, run_dir("mlp", colab=True, mount_point=drive_disk, mount=FakeDrive()), images=small_images,
                  resume=True, verbose=0)
    assert first.history["epoch"].tolist() == [1, 2]
    # a new runtime: Drive must be mounted again; the notebook is re-run with more epochs
    (drive_disk / "MyDrive").rename(tmp_path / "unmounted")
    again_dir = run_dir("mlp", colab=True, mount_point=drive_disk,
                        mount=lambda mp: (tmp_path / "unmounted").rename(mp / "MyDrive"))
    second = train(config.replace(epochs=3), again_dir, images=small_images, resume=True, verbose=0)
    assert second.history["epoch"].tolist() == [1, 2, 3]  # continued: epochs 1-2 were not trained again
    assert int(second.gan.g_optimizer.iterations) == 3 * 4


def test_show_tensorboard_inline_in_colab_else_the_command(monkeypatch, capsys, tmp_path):
    import IPython

    from gan_mnist import colab

    monkeypatch.setattr(colab, "in_colab", lambda: False)
    assert colab.show_tensorboard(tmp_path) == f"tensorboard --logdir {tmp_path}"
    assert f"%tensorboard --logdir {tmp_path}" in capsys.readouterr().out

    magics = []

    class Shell:
        def run_line_magic(self, name, line):
            magics.append((name, line))

    monkeypatch.setattr(colab, "in_colab", lambda: True)
    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    colab.show_tensorboard(tmp_path)
    assert magics == [("load_ext", "tensorboard"), ("tensorboard", f"--logdir {tmp_path}")]
