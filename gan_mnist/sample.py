"""Drawing samples from a generator: fixed noise for frames, seeded batches, labels, and .npz export like MNIST."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import keras
import numpy as np

from gan_mnist.errors import GanMnistError, GeneratorNotFinite
from gan_mnist.keras_file import check_keras_file
from gan_mnist.limits import MAX_SAMPLES
from gan_mnist.networks import NUM_CLASSES, is_conditional
from gan_mnist.run.data import to_uint8
from gan_mnist.run.directory import GENERATOR, atomic_path, holding

SAMPLE_PNG = re.compile(r"sample_\d{5,}\.png")  # the files save_sample_pngs writes (and, with force, replaces)


def fixed_noise(n: int, latent_dim: int, seed: int = 0) -> np.ndarray:
    """Standard-normal noise float32 (n, latent_dim), the same for the same seed on every machine."""
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)


def latent_dim_of(generator: keras.Model) -> int:
    """Size of the noise input of a generator (conditional or not)."""
    return int(generator.inputs[0].shape[-1])


def check_labels(labels, n: int, conditional: bool) -> np.ndarray | None:
    """Validate labels for n samples: None for unconditional models; ints 0-9, one or n of them, else an error."""
    if not conditional:
        if labels is not None:
            raise GanMnistError("this generator is unconditional: it takes no labels")
        return None
    if labels is None:
        raise GanMnistError("this generator is conditional: give labels (digits 0-9), e.g. labels=7")
    arr = np.asarray(labels)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or _whole_floats(arr)):
        raise GanMnistError(f"labels must be integers 0-9, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= NUM_CLASSES):
        raise GanMnistError(f"labels must be digits 0-9, got values from {arr.min()} to {arr.max()}")
    arr = arr.astype(np.int32).reshape(-1)
    if arr.size == 1:
        arr = np.full(n, arr[0], np.int32)
    if arr.size != n:
        raise GanMnistError(f"got {arr.size} labels for {n} samples; give one label or one per sample")
    return arr


def _whole_floats(arr: np.ndarray) -> bool:
    return np.issubdtype(arr.dtype, np.floating) and bool(np.all(arr == np.round(arr)))


def all_digit_labels(n: int) -> np.ndarray:
    """n labels int32 (n,) cycling 0..9 in blocks, as equal a count of each digit as n allows."""
    return np.repeat(np.arange(NUM_CLASSES, dtype=np.int32), -(-n // NUM_CLASSES))[:n]


def generate_from(generator: keras.Model, z: np.ndarray, labels=None, batch_size: int = 1000) -> np.ndarray:
    """Images float32 (n, 28, 28, 1) in [-1, 1] for given noise (n, latent_dim) [and labels], in inference mode."""
    return np.concatenate(list(_batches(generator, z, labels, batch_size)))


def _batches(generator: keras.Model, z: np.ndarray, labels, batch_size: int = 1000):
    """Images float32 (<= batch_size, 28, 28, 1) in [-1, 1], batch after batch; a non-finite pixel is an error."""
    labels = check_labels(labels, len(z), is_conditional(generator))
    for i in range(0, len(z), batch_size):
        inputs = z[i : i + batch_size] if labels is None else [z[i : i + batch_size], labels[i : i + batch_size]]
        # a mixed-precision generator answers in bfloat16: hand out float32 always
        images = np.asarray(generator(inputs, training=False)).astype(np.float32, copy=False)
        if not np.isfinite(images).all():
            raise GeneratorNotFinite(f"generator {generator.name!r} draws NaN or infinite pixels: its weights are "
                                     "not finite (saved from a run that diverged?)")
        yield images


def _seeded_noise(generator: keras.Model, n: int, seed: int) -> np.ndarray:
    """fixed_noise for n samples of `generator`, n checked: float32 (n, latent_dim)."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= MAX_SAMPLES:
        raise GanMnistError(f"number of samples must be a positive integer up to {MAX_SAMPLES:,}, got {n!r}")
    return fixed_noise(n, latent_dim_of(generator), seed)


def generate_uint8(generator: keras.Model, n: int, seed: int = 0, labels=None) -> np.ndarray:
    """`generate`'s images as uint8 (n, 28, 28), 0 = background, 255 = ink, converted batch by batch (a quarter of
    the memory of float32)."""
    z = _seeded_noise(generator, n, seed)
    return np.concatenate([to_uint8(images) for images in _batches(generator, z, labels)])


def generate(generator: keras.Model, n: int, seed: int = 0, labels=None, batch_size: int = 1000) -> np.ndarray:
    """n images float32 (n, 28, 28, 1) in [-1, 1] from seeded noise; conditional generators need `labels`."""
    return generate_from(generator, _seeded_noise(generator, n, seed), labels, batch_size)


def load_generator(path: str | os.PathLike) -> keras.Model:
    """Load a generator saved as .keras, or a run directory's generator.keras; one clear error if that fails.

    The file holds the whole model, but its fast layers (gan_mnist.networks.layers) are ours: load it where gan_mnist is
    installed. This function registers them with Keras; before a plain `keras.models.load_model`, run
    `import gan_mnist.networks.layers` (a bare `import gan_mnist` loads nothing until a name is used).
    """
    path = Path(path)
    if path.is_dir():
        if not (path / GENERATOR).is_file():
            raise GanMnistError(f"{path} is a directory without {GENERATOR} (not a finished run directory?)")
        path = path / GENERATOR
    if not path.is_file():
        raise GanMnistError(f"generator file not found: {path}")
    if path.suffix != ".keras":
        raise GanMnistError(f"generator file must be a .keras file, got {path.name}")
    if not zipfile.is_zipfile(path):
        raise GanMnistError(f"could not load generator {path}: not a .keras file (a .keras file is a zip archive)")
    check_keras_file(path)  # what Keras would import, and how much it would allocate
    try:
        generator = keras.models.load_model(path, compile=False)  # safe_mode: no Lambda bytecode, no arbitrary objects
    except Exception as e:  # Keras raises many types, with config dumps, for a damaged file: one line of it
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        first = first if len(first) <= 200 else first[:200] + "…"
        raise GanMnistError(f"could not load generator {path}: damaged or not a Keras model ({type(e).__name__}: "
                            f"{first})") from None
    return runnable_here(generator)


def runnable_here(generator: keras.Model) -> keras.Model:
    """`generator` as it can run on this device: itself, or when it computes in a 16-bit type this device has no
    kernels for (a bfloat16 generator on an AVX2 CPU, where oneDNN crashes), a float32 copy with the same weights."""
    from gan_mnist.run.export import compute_dtypes, float32_copy
    from gan_mnist.run.precision import POLICIES, detect, supported

    # a compute dtype -> the run.precision policy that computes in it (bfloat16 -> bf16, float32 -> off)
    policy_of = {keras.DTypePolicy(dtype_policy).compute_dtype: name for name, dtype_policy in POLICIES.items()}
    if all(policy_of.get(dtype, "off") in supported(detect()) for dtype in compute_dtypes(generator)):
        return generator
    return float32_copy(generator)


def save_samples(generator: keras.Model, n: int, path: str | os.PathLike, seed: int = 0, labels=None,
                 force: bool = True) -> Path:
    """Write n samples to an .npz: `images` uint8 (n, 28, 28), 0 = background, 255 = ink; `labels` if conditional.
    Written to a temporary file and renamed: an interrupted call leaves no half file. Without `force`, a file that
    exists by then (another process wrote it) is an error, not replaced."""
    images = generate_uint8(generator, n, seed, labels)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"images": images}
    if is_conditional(generator):
        arrays["labels"] = check_labels(labels, n, True).astype(np.uint8)
    with holding(path), atomic_path(path, exclusive=not force) as tmp:  # two samplers with --force: one refused
        np.savez_compressed(tmp, **arrays)
    return path


def check_sample_folder(out: str | os.PathLike, force: bool = False) -> list[Path]:
    """The sample_NNNNN.png files already in `out` (none when it does not exist); an error when there are some and
    not `force`: two generators' samples mixed in one folder would be scored as one."""
    out = Path(out)
    found = sorted(p for p in out.iterdir() if SAMPLE_PNG.fullmatch(p.name)) if out.is_dir() else []
    if found and not force:
        raise GanMnistError(f"{out} already holds {len(found)} sample_NNNNN.png files: pass --force (force=True) to "
                            "replace them (only them), or choose another folder")
    return found


def save_sample_pngs(generator: keras.Model, n: int, out: str | os.PathLike, seed: int = 0, labels=None,
                     force: bool = False) -> Path:
    """Write n samples as PNG files out/sample_00000.png ... (28x28 grayscale, ink white on black, like MNIST).

    The layout that FID tools (pytorch-fid, clean-fid, torch-fidelity) read as "a folder of images". A folder that
    already holds sample PNGs is refused, or with `force` has those (only those) replaced, so that the folder never
    mixes two sets of samples; its other files are left alone.
    """
    from PIL import Image

    out = Path(out)
    check_sample_folder(out, force)
    images = generate_uint8(generator, n, seed, labels)  # before anything is made or deleted: it may fail
    out.mkdir(parents=True, exist_ok=True)
    with holding(out):  # a second sampler into this folder is refused, never mixed in
        for path in check_sample_folder(out, force):  # looked at again under the lock
            path.unlink()
        for i, image in enumerate(images):
            Image.fromarray(image).save(out / f"sample_{i:05d}.png")
    return out


def interpolate_classes(generator: keras.Model, a: int, b: int, steps: int = 10, seed: int = 0) -> np.ndarray:
    """From digit a to digit b with the noise held fixed: images float32 (steps, 28, 28, 1) in [-1, 1].

    Blends the two labels' learned codes linearly; needs a generator from `build_cgan_generator` or
    `build_resize_cgan_generator`.
    """
    check_labels([a, b], 2, is_conditional(generator))
    try:
        codes = np.asarray(generator.get_layer("label_embedding").embeddings)
        body = next(la for la in generator.layers if la.name.endswith("generator_body"))
    except (ValueError, StopIteration) as e:
        raise GanMnistError("class interpolation needs a conditional generator with a 'label_embedding' layer and "
                            "a '..._generator_body' sub-model (build_cgan_generator, build_resize_cgan_generator)"
                            ) from e
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    mixed = (1 - t) * codes[a] + t * codes[b]
    z = np.repeat(fixed_noise(1, latent_dim_of(generator), seed), steps, axis=0)
    return np.asarray(body([z, mixed], training=False)).astype(np.float32, copy=False)


def interpolate_latent(generator: keras.Model, steps: int = 10, seed: int = 0, kind: str = "linear",
                       label: int | None = None) -> np.ndarray:
    """Walk from one noise vector to another: images float32 (steps, 28, 28, 1) in [-1, 1].

    kind='linear' blends the vectors directly; 'slerp' follows the great circle between them, which keeps the
    norm typical of Gaussian noise (a straight line passes through unusually short vectors in the middle).
    """
    if kind not in ("linear", "slerp"):
        raise GanMnistError(f"kind must be 'linear' or 'slerp', got {kind!r}")
    a, b = fixed_noise(2, latent_dim_of(generator), seed).astype(np.float64)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    if kind == "linear":
        z = (1 - t) * a + t * b
    else:
        omega = np.arccos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1.0, 1.0))
        z = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    labels = None if label is None else np.full(steps, label)
    return generate_from(generator, z.astype(np.float32), labels)
