"""A .keras file of each published kind of attack is refused with one line before Keras opens it (keras_file): a
config that turns safe mode off (CVE-2025-1550), a TFSMLayer that loads a SavedModel from anywhere (CVE-2026-1462),
an HDF5 dataset that declares more memory than any machine has (CVE-2026-12570); a real generator still loads."""

import io
import json
import zipfile

import h5py
import numpy as np
import pytest

from gan_mnist.networks import build_models
from tests.conftest import assert_usage_error, snapshot


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "g.keras"
    build_models("mlp", latent_dim=8, width=0.25)[0].save(path)
    return path


def rewrite(source, target, member, change):
    """Copy the .keras zip `source` to `target` with `member`'s bytes passed through change(bytes) -> bytes."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            new.writestr(info, change(data) if info.filename == member else data)


def in_config(change):
    def edit(data):
        config = json.loads(data)
        change(config)
        return json.dumps(config).encode()
    return edit


def tfsm_layer(config):  # the whole model becomes a layer that loads a SavedModel from a path of the file's choice
    config.clear()
    config.update(module="keras.layers", class_name="TFSMLayer", registered_name=None,
                  config={"name": "x", "filepath": "/tmp/anything", "call_endpoint": "serve"})


def unsafe_switch(config):  # a layer's activation that, deserialised, calls keras.config.enable_unsafe_deserialization
    dense = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
    dense["config"]["activation"] = {"module": "keras.config", "class_name": "function",
                                     "config": "enable_unsafe_deserialization", "registered_name": "function"}


def huge_dataset(data):  # the real weights plus one dataset of 2**40 float32 (4 TiB), chunked: the file stays small
    with h5py.File(io.BytesIO(data), "r") as real:
        buffer = io.BytesIO()
        with h5py.File(buffer, "w") as crafted:
            for key in real:
                real.copy(key, crafted)
            crafted.create_dataset("layers/dense/vars/9", shape=(2**40,), dtype="f4", chunks=(1024,))
    return buffer.getvalue()


@pytest.mark.parametrize("member, change, message", [
    ("config.json", in_config(tfsm_layer), "its config names keras.layers.TFSMLayer"),
    ("config.json", in_config(unsafe_switch), "its config names keras.config.function"),
    ("model.weights.h5", huge_dataset, "its weights declare more than 1,073,741,824 bytes"),
], ids=["TFSMLayer", "enable_unsafe_deserialization", "huge HDF5 dataset"])
@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_a_crafted_keras_file_is_refused_with_one_line(member, change, message, command, generator_file, tmp_path,
                                                       monkeypatch, cli):
    monkeypatch.chdir(tmp_path)
    rewrite(generator_file, tmp_path / "g.keras", member, change)
    assert (tmp_path / "g.keras").stat().st_size < 2_000_000  # a small file, whatever it declares
    before = snapshot(tmp_path)
    out = ["--out", "s.npz"] if command == "sample" else []
    code, _, err = cli(command, "--generator", "g.keras", "--n", 10, *out)
    assert_usage_error(code, err, f"refused to load generator g.keras: {message}")
    assert snapshot(tmp_path) == before


def test_the_untouched_file_loads_and_draws(generator_file, tmp_path, cli):
    rewrite(generator_file, tmp_path / "g.keras", "config.json", lambda data: data)
    code, _, err = cli("sample", "--generator", tmp_path / "g.keras", "--n", 10, "--out", tmp_path / "s.npz")
    assert code == 0, err
    with np.load(tmp_path / "s.npz") as f:
        assert f["images"].shape == (10, 28, 28)
