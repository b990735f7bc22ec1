"""Compute precision per device: what `--mixed-precision auto` picks, and why.

Mixed precision computes in 16 bits and keeps float32 weights. It pays only where the chip has 16-bit arithmetic:
bfloat16 on CPUs whose oneDNN runs it natively (AVX512_BF16, AMX) and on GPUs of compute capability 8.0 and newer
(Ampere), float16 with loss scaling on the tensor cores of 7.x GPUs (V100, T4). Elsewhere it costs: on AVX-512
CPUs without BF16, oneDNN emulates bfloat16 and a step runs 2-3x slower than in float32; capped at AVX2, oneDNN has
no bfloat16 convolution at all (docs/speed.md). So `auto` reads the device's reported features: `auto_policy` is
the rule (a pure function of a `Device`), `detect` reads this machine. No TensorFlow is imported here but for the
GPU query in `detect`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import platform
import warnings
from pathlib import Path

from gan_mnist._startup import ONEDNN_SWITCH
from gan_mnist.errors import GanMnistError

# the policies a config may ask for, by the Keras dtype policy each sets; "auto" picks one per device
POLICIES = {"bf16": "mixed_bfloat16", "fp16": "mixed_float16", "off": "float32"}
AUTO = "auto"
CHOICES = (AUTO, *POLICIES)
# config.json and preset files written when mixed_precision was a boolean (true meant bfloat16)
LEGACY = {True: "bf16", False: "off"}

# oneDNN's CPU instruction-set levels, lowest first, as ONEDNN_MAX_CPU_ISA names them
ISA_LEVELS = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI",
              "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16")
# newer oneDNN spellings of the same levels; ALL and DEFAULT mean no cap
ISA_ALIASES = {"AVX10_1_512": "AVX512_CORE_FP16", "AVX10_1_512_AMX": "AVX512_CORE_AMX",
               "AVX10_1_512_AMX_FP16": "AVX512_CORE_AMX_FP16", "AVX10_2_512": "AVX512_CORE_AMX_FP16",
               "AVX10_2_512_AMX_2": "AVX512_CORE_AMX_FP16"}
NO_CAP = ("ALL", "DEFAULT")
# the /proc/cpuinfo flags each level needs (beyond the level below it), checked highest first
_ISA_FLAGS = (
    ("AVX512_CORE_AMX_FP16", {"amx_tile", "amx_bf16", "amx_fp16", "avx512_fp16"}),
    ("AVX512_CORE_AMX", {"amx_tile", "amx_bf16", "avx512_bf16"}),
    ("AVX512_CORE_FP16", {"avx512_fp16", "avx512_bf16"}),
    ("AVX512_CORE_BF16", {"avx512_bf16"}),
    ("AVX512_CORE_VNNI", {"avx512_vnni"}),
    ("AVX512_CORE", {"avx512f", "avx512bw", "avx512vl", "avx512dq"}),
    ("AVX2_VNNI_2", {"avx_vnni", "avx_ne_convert", "avx_vnni_int8"}),
    ("AVX2_VNNI", {"avx_vnni"}),
    ("AVX2", {"avx2"}),
    ("AVX", {"avx"}),
    ("SSE41", {"sse4_1"}),
)
BF16_NATIVE, BF16_KERNELS, FP16_NATIVE = "AVX512_CORE_BF16", "AVX512_CORE", "AVX512_CORE_FP16"
# measured here with `bench` (docs/speed.md): what asking for a policy the CPU lacks costs
BF16_EMULATED_COST = "1.8-3.1x slower than float32"
FP16_CPU_COST = "6.8-7.7x slower than float32"
ONEDNN_OFF = ("TensorFlow started before gan_mnist was imported, without oneDNN's kernels on this CPU: the default "
              "trains about half as fast (docs/speed.md). Import gan_mnist before tensorflow and keras, or set "
              f"{ONEDNN_SWITCH}=1 before either")


@dataclasses.dataclass(frozen=True)
class Device:
    """What the precision rule reads of a machine: its GPUs' compute capabilities (none: training runs on the
    CPU), and the CPU's architecture, instruction-set flags and oneDNN settings."""

    name: str = "CPU"
    machine: str = "x86_64"  # platform.machine()
    cpu_flags: frozenset[str] = frozenset()  # /proc/cpuinfo's flags, e.g. {"avx2", "avx512_bf16"}
    onednn_cap: str | None = None  # ONEDNN_MAX_CPU_ISA as set, e.g. "AVX2"
    onednn: bool = True  # TensorFlow runs oneDNN's kernels (gan_mnist turns them on: _startup)
    gpus: tuple[tuple[int, int], ...] = ()  # compute capability (major, minor) of each GPU TensorFlow sees
    gpu_names: tuple[str, ...] = ()

    @property
    def x86(self) -> bool:
        return self.machine.lower() in ("x86_64", "amd64")

    @property
    def isa(self) -> str | None:
        """The oneDNN instruction-set level that runs: the CPU's, lowered to ONEDNN_MAX_CPU_ISA's cap (None when it
        is not known: not x86, or no flags read)."""
        if not self.x86:
            return None
        found = next((level for level, flags in _ISA_FLAGS if flags <= self.cpu_flags), None)
        cap = (self.onednn_cap or "ALL").strip().upper()
        cap = ISA_ALIASES.get(cap, cap)
        if found is None or cap in NO_CAP or cap not in ISA_LEVELS:
            return found
        return min(found, cap, key=ISA_LEVELS.index)

    def at_least(self, level: str) -> bool:
        """Whether oneDNN runs at `level` (an ISA_LEVELS name) or above."""
        return self.onednn and self.isa is not None and ISA_LEVELS.index(self.isa) >= ISA_LEVELS.index(level)

    @property
    def capability(self) -> tuple[int, int] | None:
        """The lowest compute capability of the GPUs (the one every replica can run), None without a GPU."""
        return min(self.gpus) if self.gpus else None

    def describe(self) -> str:
        """One line, e.g. 'GPU Tesla T4 (compute capability 7.5)' or 'CPU Intel Xeon (oneDNN AVX512_CORE_VNNI)'."""
        if self.gpus:
            names = ", ".join(dict.fromkeys(self.gpu_names)) or "GPU"
            count = f"{len(self.gpus)} x " if len(self.gpus) > 1 else ""
            return f"GPU {count}{names} (compute capability {'.'.join(map(str, self.capability))})"
        if not self.x86:
            return f"CPU {self.name} ({self.machine})"
        isa = self.isa or "instruction set unknown"
        capped = self.onednn_cap and self.onednn_cap.strip().upper() not in NO_CAP
        cap = f", capped by ONEDNN_MAX_CPU_ISA={self.onednn_cap}" if capped else ""
        return f"CPU {self.name} (oneDNN {isa}{cap}{'' if self.onednn else ', oneDNN off'})"


@dataclasses.dataclass(frozen=True)
class Precision:
    """The precision a run computes in: `asked` (a CHOICES value), `policy` (a POLICIES key) and why."""

    asked: str
    policy: str
    why: str
    device: str = ""  # Device.describe()
    warning: str | None = None  # an explicit choice this device runs slowly

    @property
    def dtype_policy(self) -> str:
        """The Keras dtype policy: 'mixed_bfloat16', 'mixed_float16' or 'float32'."""
        return POLICIES[self.policy]

    @property
    def loss_scaling(self) -> bool:
        """float16's narrow range needs the losses scaled up before the gradients (LossScaleOptimizer)."""
        return self.policy == "fp16"

    def line(self) -> str:
        """What `train` says first, e.g. 'precision: off (float32): auto on CPU ...: no native bfloat16 ...'."""
        how = "auto" if self.asked == AUTO else "asked"
        return f"precision: {self.policy} ({self.dtype_policy}), {how}: {self.why} [{self.device}]"

    def record(self) -> dict:
        """What config.json keeps of it beside the config (which holds what was asked)."""
        return {"mixed_precision": self.policy, "why": self.why, "device": self.device}


def auto_policy(device: Device) -> tuple[str, str]:
    """(policy, why) that `auto` picks on `device`: bf16 on GPUs of compute capability >= 8.0 and on CPUs whose
    oneDNN runs bfloat16 natively (AVX512_BF16 or AMX, ONEDNN_MAX_CPU_ISA honoured); fp16 on 7.x GPUs; else off."""
    if device.gpus:
        major, minor = device.capability
        if major >= 8:
            return "bf16", f"the GPU computes bfloat16 natively (compute capability {major}.{minor} >= 8.0)"
        if major == 7:
            return "fp16", (f"the GPU's tensor cores compute float16, not bfloat16 (compute capability "
                            f"{major}.{minor}): float16 with loss scaling")
        return "off", f"the GPU has no tensor cores (compute capability {major}.{minor} < 7.0)"
    if not device.x86:
        return "off", f"no measured gain from 16 bits on a {device.machine} CPU"
    if not device.onednn:
        return "off", ("oneDNN is off (TF_ENABLE_ONEDNN_OPTS=0, or TensorFlow started before gan_mnist was "
                       "imported): TensorFlow's own kernels, slower in every precision")
    if device.at_least(BF16_NATIVE):
        return "bf16", f"the CPU runs bfloat16 natively (oneDNN {device.isa})"
    if device.isa is None:
        return "off", "the CPU's instruction set is unknown"
    if not device.at_least(BF16_KERNELS):
        return "off", f"the CPU has no bfloat16 (oneDNN {device.isa} has no bfloat16 convolutions)"
    return "off", (f"the CPU has no native bfloat16 (oneDNN {device.isa}; needs AVX512_BF16 or AMX): emulated, it "
                   f"runs {BF16_EMULATED_COST}")


def supported(device: Device) -> tuple[str, ...]:
    """The POLICIES `device` has kernels for (`bench` times each): off everywhere; on GPUs fp16, and bf16 from
    compute capability 8.0; on CPUs bf16 where oneDNN has bfloat16 kernels (AVX-512, emulated below AVX512_BF16)
    and fp16 where it has float16 ones (AVX512_FP16)."""
    if device.gpus:
        return ("off", "fp16", "bf16") if device.capability[0] >= 8 else ("off", "fp16")
    return ("off",) + ("bf16",) * device.at_least(BF16_KERNELS) + ("fp16",) * device.at_least(FP16_NATIVE)


def choose(asked: str, device: Device) -> Precision:
    """The Precision of a run asking for `asked` (a CHOICES value) on `device`: `auto` by `auto_policy`; an
    explicit policy as asked, refused (GanMnistError, one line) where the device cannot run it and carrying a
    warning where it runs slowly."""
    if asked not in CHOICES:
        raise GanMnistError(f"mixed_precision must be one of {', '.join(CHOICES)}, got {asked!r}")
    where = device.describe()
    if asked == AUTO:
        policy, why = auto_policy(device)
        return Precision(asked, policy, why, where)
    auto, _ = auto_policy(device)
    warning = None
    if device.gpus:
        major, minor = device.capability
        if asked == "bf16" and major < 8:
            raise GanMnistError(f"--mixed-precision bf16 needs a GPU of compute capability 8.0 or newer; this one is "
                                f"{major}.{minor} (no bfloat16 convolutions): use fp16, or auto ({auto} here)")
        if asked == "fp16" and major < 7:
            warning = f"float16 on a GPU without tensor cores (compute capability {major}.{minor}) seldom beats float32"
    elif asked == "bf16" and not device.at_least(BF16_NATIVE):
        if device.onednn and device.isa is not None and not device.at_least(BF16_KERNELS):
            raise GanMnistError(f"--mixed-precision bf16: oneDNN here runs {device.isa}, which has no bfloat16 "
                                "convolutions (TensorFlow fails or falls back to slow reference kernels): use auto "
                                f"({auto} here)")
        warning = (f"bfloat16 on a CPU without native bfloat16 ({device.isa or device.machine}) is emulated: measured "
                   f"{BF16_EMULATED_COST} on AVX-512 (docs/speed.md); auto picks {auto} here")
    elif asked == "fp16" and not device.at_least(FP16_NATIVE):
        warning = (f"float16 on a CPU without AVX512_FP16 runs reference kernels: measured {FP16_CPU_COST} "
                   f"(docs/speed.md); fp16 is for GPUs of compute capability 7.x; auto picks {auto} here")
    return Precision(asked, asked, "as asked", where, warning)


def resolve(asked: str) -> Precision:
    """`choose(asked, detect())`, warning (once per call) when the asked policy runs slowly here, and when TensorFlow
    started without oneDNN on an x86 CPU that nobody asked for that (it was imported before gan_mnist)."""
    device = detect()
    precision = choose(asked, device)
    if precision.warning:
        warnings.warn(precision.warning, stacklevel=2)
    if not device.gpus and device.x86 and not device.onednn and ONEDNN_SWITCH not in os.environ:
        warnings.warn(ONEDNN_OFF, stacklevel=2)
    return precision


def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The flags of the first processor in a /proc/cpuinfo text ('flags' on x86, 'Features' on ARM)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def cpu_name(cpuinfo: str) -> str:
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return " ".join(value.split())
    return platform.processor() or "CPU"


@functools.cache
def detect() -> Device:
    """This machine as TensorFlow will train on it: its GPUs (TensorFlow's view), else its CPU (/proc/cpuinfo and
    the oneDNN environment variables). Read once per process."""
    import tensorflow as tf

    gpus, names = [], []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        if "compute_capability" in details:
            gpus.append(tuple(details["compute_capability"]))
            names.append(details.get("device_name", gpu.name))
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: no flags, so `auto` takes float32 on the CPU
        info = ""
    return Device(name=cpu_name(info), machine=platform.machine(), cpu_flags=cpu_flags(info),
                  onednn_cap=os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA"),
                  onednn=onednn_on(), gpus=tuple(gpus), gpu_names=tuple(names))


def onednn_on() -> bool:
    """Whether TensorFlow runs oneDNN's kernels in this process: its own answer, fixed when it started (on Linux
    CPUs without AVX512_VNNI, AVX_VNNI, AVX512_BF16 or AMX, only where TF_ENABLE_ONEDNN_OPTS=1 was set by then)."""
    try:
        from tensorflow.python.util import _pywrap_util_port

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):  # a build without that query: the switch as set
        return os.environ.get(ONEDNN_SWITCH, "1").strip() not in ("0", "false", "False")
