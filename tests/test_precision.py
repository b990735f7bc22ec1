"""Compute precision per device (gan_mnist.run.precision): the rule `auto` follows at known devices, explicit
choices refused or warned about, float16 training with loss scaling, and runs under emulated instruction sets."""

import json
import os
import platform
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest

from gan_mnist import TrainConfig, generate, load_generator
from gan_mnist._startup import ONEDNN_SWITCH, start_up_environment
from gan_mnist.errors import GanMnistError, TrainingDiverged
from gan_mnist.run import precision as precision_module
from gan_mnist.run.callbacks import StopOnNonFinite
from gan_mnist.run.data import make_dataset
from gan_mnist.run.precision import Device, auto_policy, choose, cpu_flags, supported
from gan_mnist.run.training import build_gan
from tests.conftest import run_cli, runs_here

AVX2 = frozenset({"sse4_1", "avx", "avx2", "fma"})
AVX512 = AVX2 | {"avx512f", "avx512bw", "avx512vl", "avx512dq"}  # Skylake-SP
VNNI = AVX512 | {"avx512_vnni"}  # Cascade Lake, Ice Lake, Tiger Lake
BF16 = VNNI | {"avx512_bf16"}  # Cooper Lake, Zen 4
AMX = BF16 | {"amx_tile", "amx_bf16", "amx_int8"}  # Sapphire Rapids


def cpu(flags, cap=None, **kw) -> Device:
    return Device(name="test CPU", cpu_flags=frozenset(flags), onednn_cap=cap, **kw)


@pytest.mark.parametrize("device, policy", [
    (cpu(AVX2), "off"), (cpu(AVX512), "off"), (cpu(VNNI), "off"), (cpu(BF16), "bf16"), (cpu(AMX), "bf16"),
    # ONEDNN_MAX_CPU_ISA caps what oneDNN runs, so the emulation of a lesser CPU is honoured
    (cpu(BF16, cap="AVX512_CORE"), "off"), (cpu(AMX, cap="avx2"), "off"), (cpu(BF16, cap="ALL"), "bf16"),
    (cpu(AMX, cap="AVX512_CORE_BF16"), "bf16"), (cpu(AMX, cap="AVX10_1_512_AMX"), "bf16"),
    (cpu(BF16, onednn=False), "off"),  # TF_ENABLE_ONEDNN_OPTS=0: TensorFlow's own kernels
    (cpu(frozenset()), "off"),  # flags unknown (not Linux)
    (Device(name="Apple M2", machine="arm64"), "off"), (Device(name="Graviton", machine="aarch64"), "off"),
    (Device(gpus=((8, 0),), gpu_names=("A100",)), "bf16"), (Device(gpus=((9, 0),)), "bf16"),
    (Device(gpus=((7, 5),), gpu_names=("Tesla T4",)), "fp16"), (Device(gpus=((7, 0),)), "fp16"),
    (Device(gpus=((6, 1),)), "off"),
    (Device(gpus=((8, 6), (7, 5))), "fp16"),  # the least of several GPUs: every replica must run it
    (Device(cpu_flags=AMX, gpus=((7, 5),)), "fp16"),  # with a GPU, the GPU decides
])
def test_auto_picks_by_the_devices_features(device, policy):
    picked, why = auto_policy(device)
    assert picked == policy and why
    assert choose("auto", device).policy == policy and choose("auto", device).why == why


def test_what_each_device_has_kernels_for():
    assert supported(cpu(AVX2)) == ("off",)
    assert supported(cpu(VNNI)) == ("off", "bf16")  # emulated bfloat16 runs, slowly: bench shows the cost
    assert supported(cpu(AMX | {"avx512_fp16"})) == ("off", "bf16", "fp16")
    assert supported(cpu(BF16, cap="AVX2")) == ("off",)
    assert supported(Device(gpus=((7, 5),))) == ("off", "fp16")
    assert supported(Device(gpus=((8, 9),))) == ("off", "fp16", "bf16")


def test_the_isa_is_the_cpus_lowered_to_the_cap():
    assert cpu(AMX).isa == "AVX512_CORE_AMX" and cpu(VNNI).isa == "AVX512_CORE_VNNI" and cpu(AVX2).isa == "AVX2"
    assert cpu(AMX, cap="avx512_core").isa == "AVX512_CORE" and cpu(AVX2, cap="AVX512_CORE_AMX").isa == "AVX2"
    assert cpu(VNNI, cap="nonsense").isa == "AVX512_CORE_VNNI"  # oneDNN ignores a cap it does not know
    assert Device(machine="arm64", cpu_flags=AMX).isa is None


def test_cpu_flags_from_proc_cpuinfo():
    text = "processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse4_1 avx2 avx512f\n\nprocessor\t: 1\nflags : x\n"
    assert cpu_flags(text) == {"fpu", "sse4_1", "avx2", "avx512f"}
    assert cpu_flags("Features\t: fp asimd bf16\n") == {"fp", "asimd", "bf16"} and cpu_flags("") == frozenset()


@pytest.mark.parametrize("device, asked, message", [
    (cpu(AVX2), "bf16", "oneDNN here runs AVX2, which has no bfloat16 convolutions"),
    (cpu(BF16, cap="AVX2"), "bf16", "use auto \\(off here\\)"),
    (Device(gpus=((7, 5),), gpu_names=("Tesla T4",)), "bf16", "compute capability 8.0 or newer; this one is 7.5"),
    (cpu(BF16), "half", "mixed_precision must be one of auto, bf16, fp16, off"),
])
def test_a_precision_the_device_cannot_run_is_refused_in_one_line(device, asked, message):
    with pytest.raises(GanMnistError, match=message) as e:
        choose(asked, device)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("device, asked, warned", [
    (cpu(VNNI), "bf16", "emulated: measured 1.8-3.1x slower than float32"),
    (cpu(VNNI), "fp16", "slower than float32"),
    (Device(gpus=((6, 1),)), "fp16", "without tensor cores"),
    (cpu(BF16), "bf16", None), (cpu(VNNI), "off", None), (Device(gpus=((7, 5),)), "fp16", None),
])
def test_an_explicit_precision_runs_as_asked_with_its_cost_said(device, asked, warned):
    precision = choose(asked, device)
    assert precision.policy == asked and precision.why == "as asked"
    assert (precision.warning is None) if warned is None else (warned in precision.warning)


def test_tensorflow_starts_with_onednn_on_x86_unless_the_user_set_the_switch():
    assert start_up_environment({}, "x86_64") == {ONEDNN_SWITCH: "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    assert start_up_environment({}, "AMD64") == {ONEDNN_SWITCH: "1", "TF_CPP_MIN_LOG_LEVEL": "3"}  # Windows
    assert start_up_environment({ONEDNN_SWITCH: "0"}, "x86_64") == {"TF_CPP_MIN_LOG_LEVEL": "3"}  # the user's choice
    assert start_up_environment({"TF_CPP_MIN_LOG_LEVEL": "0"}, "aarch64") == {}  # oneDNN on ARM: TensorFlow's call


@pytest.mark.parametrize("switch, warned", [(None, True), ("0", False), ("1", False)])
def test_training_without_onednn_nobody_asked_for_says_how_to_get_it(monkeypatch, switch, warned):
    monkeypatch.setattr(precision_module, "detect", lambda: cpu(AVX2, onednn=False))
    if switch is None:
        monkeypatch.delenv(ONEDNN_SWITCH, raising=False)
    else:
        monkeypatch.setenv(ONEDNN_SWITCH, switch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert precision_module.resolve("auto").policy == "off"
    said = [str(w.message) for w in caught if "Import gan_mnist before tensorflow" in str(w.message)]
    assert len(said) == warned


@pytest.mark.slow
@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="oneDNN's switch is for x86")
def test_importing_gan_mnist_first_starts_tensorflow_with_onednn_on():
    env = {k: v for k, v in os.environ.items() if k != ONEDNN_SWITCH}  # as a user's shell has it: unset
    code = "import gan_mnist, keras; from gan_mnist.run.precision import onednn_on; print(onednn_on())"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert child.returncode == 0 and child.stdout.strip() == "True", child.stderr[-2000:]


def _fit(gan, images, labels, steps=2, callbacks=()):
    labels = labels[: 32 * steps] if gan.conditional else None
    return gan.fit(make_dataset(images[: 32 * steps], 32, labels=labels), epochs=1, verbose=0, shuffle=False,
                   callbacks=list(callbacks))


@pytest.mark.parametrize("model", ["dcgan", "cgan"])
@pytest.mark.parametrize("policy, dtype", [("bf16", "bfloat16"), ("fp16", "float16")])
def test_mixed_precision_trains_in_16_bits_and_keeps_float32_weights(small_images, small_labels, model, policy,
                                                                      dtype):
    if not runs_here(policy):
        pytest.skip(f"this machine cannot train in {policy}")
    # an absolute loss: under rpgan (cgan's default) D's logit bias gets no gradient (tests/test_gan.py)
    gan = build_gan(TrainConfig(model=model, loss="ns", mixed_precision=policy, batch_size=32, latent_dim=16))
    assert keras.config.dtype_policy().name == "float32", "the global policy must be restored after building"
    assert gan.precision.policy == policy
    convs = [la for la in gan.generator._flatten_layers() if isinstance(la, keras.layers.Conv2DTranspose)]
    assert convs and all(la.compute_dtype == dtype for la in convs)
    # float16 scales the losses (bfloat16 has float32's range and needs no scaling)
    assert gan.loss_scaled == (policy == "fp16")
    before = [w.numpy().copy() for w in gan.generator.trainable_weights + gan.discriminator.trainable_weights]
    history = _fit(gan, small_images, small_labels).history
    after = gan.generator.trainable_weights + gan.discriminator.trainable_weights
    assert all(w.dtype == "float32" for w in after)
    assert all(not np.allclose(a, b.numpy()) for a, b in zip(before, after, strict=True))
    assert np.isfinite(history["d_loss"][0]) and np.isfinite(history["g_loss"][0])
    assert ("skipped" in history) == (policy == "fp16")


def test_float16_penalty_and_ema_stay_float32_and_close_to_float32s(small_images):
    from gan_mnist.objectives.penalties import r1

    gans = {p: build_gan(TrainConfig(model="conv", mixed_precision=p, latent_dim=16)) for p in ("off", "fp16")}
    gans["fp16"].discriminator.set_weights(gans["off"].discriminator.get_weights())
    penalties = {p: r1(lambda x, g=g: g.discriminator(x, training=False), small_images[:64], None)
                 for p, g in gans.items()}
    assert all(v.dtype == "float32" for v in penalties.values())
    assert float(penalties["fp16"]) == pytest.approx(float(penalties["off"]), rel=1e-2)
    assert all(w.dtype == "float32" for w in gans["fp16"].ema_generator.weights)  # the EMA averages in float32


def test_skipped_loss_scale_steps_are_counted_not_fatal_and_a_collapsed_scale_stops_the_run(small_images,
                                                                                            tmp_path):
    gan = build_gan(TrainConfig(model="conv", loss="ns", mixed_precision="fp16", batch_size=32, latent_dim=16))
    gan.build_optimizers()
    for opt in (gan.g_optimizer, gan.d_optimizer):
        opt.dynamic_scale.assign(2.0**80)  # every scaled gradient overflows float16: each update is skipped
    before = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    history = _fit(gan, small_images, None, callbacks=[StopOnNonFinite(tmp_path)]).history
    assert history["skipped"][0] == 1.0  # every update of the epoch, and the guard let them pass
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(before, gan.discriminator.trainable_weights, strict=True))
    assert float(gan.d_optimizer.dynamic_scale) == 2.0**78  # halved once per skipped step
    gan.d_optimizer.dynamic_scale.assign(0.5)  # below 1: gradients overflow even unscaled
    with pytest.raises(TrainingDiverged, match="d_loss scale 0.5 \\(gradients overflow float16 even unscaled\\)"):
        _fit(gan, small_images, None, callbacks=[StopOnNonFinite(tmp_path)])


def test_a_checkpoint_moves_between_precisions(small_images, tmp_path):
    from gan_mnist.run.checkpoint import load_checkpoint, save_checkpoint

    config = TrainConfig(model="conv", loss="ns", batch_size=32, latent_dim=16)
    fp16 = build_gan(config.replace(mixed_precision="fp16"))
    _fit(fp16, small_images, None)
    path = save_checkpoint(fp16, tmp_path, 1)
    plain = build_gan(config.replace(mixed_precision="off"))
    assert load_checkpoint(plain, path) == 1  # the loss scale is left behind
    for a, b in zip(plain.generator.weights + plain.d_optimizer.variables,
                    fp16.generator.weights + fp16.d_optimizer.inner_optimizer.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    again = build_gan(config.replace(mixed_precision="fp16"))
    load_checkpoint(again, save_checkpoint(plain, tmp_path / "plain", 1))  # a fresh loss scale
    assert float(again.d_optimizer.dynamic_scale) == 2.0**15


def test_a_generator_computing_in_a_type_the_device_lacks_is_loaded_in_float32(small_images, tmp_path,
                                                                              monkeypatch):
    import gan_mnist.run.precision as precision
    from gan_mnist.run.callbacks import save_generator

    gan = build_gan(TrainConfig(model="cgan", mixed_precision="fp16", latent_dim=16, width=0.5))
    path = save_generator(gan.generator, tmp_path / "g.keras")
    here = load_generator(path)  # float16 runs on every CPU: kept as it is, unless the device has no kernels
    monkeypatch.setattr(precision, "detect", lambda: Device(name="laptop", cpu_flags=AVX2))
    laptop = load_generator(path)
    assert {la.compute_dtype for la in laptop._flatten_layers() if not isinstance(la, keras.Model)} == {"float32"}
    labels = np.arange(8) % 10
    np.testing.assert_allclose(generate(laptop, 8, seed=1, labels=labels), generate(here, 8, seed=1, labels=labels),
                               atol=0.02)  # the same weights: float16's rounding apart


@pytest.mark.slow
def test_emulated_cpus_train_in_what_they_have_and_refuse_what_they_lack(tmp_path, mnist_path):
    base = ["train", "--epochs", 1, "--limit", 512, "--batch-size", 64, "--data", mnist_path]  # 50 clusters of 10+
    avx2 = {"ONEDNN_MAX_CPU_ISA": "AVX2"}
    proc = run_cli(*base, "--out", tmp_path / "r", env=avx2)
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stderr.splitlines() if line.startswith("precision:")]
    assert said and said[0].startswith("precision: off (float32), auto: the CPU has no bfloat16 (oneDNN AVX2")
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved["speed"]["mixed_precision"] == "auto" and saved["ran"]["mixed_precision"] == "off"
    assert "ONEDNN_MAX_CPU_ISA=AVX2" in saved["ran"]["device"]
    refused = run_cli(*base, "--out", tmp_path / "b", "--mixed-precision", "bf16", env=avx2)
    assert refused.returncode == 2 and not (tmp_path / "b").exists()
    assert refused.stderr.strip().splitlines()[-1].startswith("error: --mixed-precision bf16: oneDNN here runs AVX2")
    if runs_here("bf16"):  # a generator trained in bfloat16 here samples on the emulated laptop (oneDNN crashed)
        assert run_cli(*base, "--out", tmp_path / "bf", "--mixed-precision", "bf16", "--quiet").returncode == 0
        sampled = run_cli("sample", "--generator", tmp_path / "bf", "--n", 8, "--out", tmp_path / "s.npz", env=avx2)
        assert sampled.returncode == 0, sampled.stderr
        assert np.load(tmp_path / "s.npz")["images"].shape == (8, 28, 28)


@pytest.mark.slow
def test_bench_names_the_device_and_what_auto_picks(mnist_path):
    proc = run_cli("bench", "--check-device", "--json", "--limit", 256, "--steps", 1, "--warmup", 1, "--repeats", 1,
                   "--data", mnist_path)
    assert proc.returncode == 0, proc.stderr
    header, *rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert header["device"].startswith(("CPU", "GPU")) and header["auto"] in ("off", "bf16", "fp16") and header["why"]
    setups = [row["setup"] for row in rows]
    assert setups[0] == "fit() self_resize float32" and setups[-1].startswith("train() 1 epoch, auto = ")
    assert all(row["images_per_s"] > 0 for row in rows)
