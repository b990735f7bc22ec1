"""The ceilings on what a user can ask for, each checked before anything is allocated or written: how many images a
command draws or reads, how big a grid picture gets, which seeds numpy takes, how many clusters self-conditioning
makes; and `Bounds`, the one way a number's range is stated, checked and shown."""

from __future__ import annotations

import dataclasses

from gan_mnist.errors import GanMnistError

# images `sample`, `evaluate`, `compare`, `--eval-samples` and `--samples` files take: 3 GB as float32
MAX_SAMPLES = 1_000_000
MAX_GRID = 10_000  # images in one grid picture (`sample --out x.png`): 2,800 x 2,800 pixels
MAX_SEED = 2**32 - 1  # numpy's seeds are 0 ... 2**32 - 1

# self-conditioning (clustering.py) clusters the discriminator's features of at most CLUSTER_ANCHORS training images
# over the graph of each one's CLUSTER_NEIGHBOURS nearest, smoothed by diffusion. A cluster with fewer members than
# a neighbourhood is averaged into its neighbours', so a run takes at most anchors / neighbours clusters: 2,000 on
# MNIST's 60,000 digits, fewer on a --limit of under 20,000
CLUSTER_ANCHORS = 20_000
CLUSTER_NEIGHBOURS = 10
TRAIN_IMAGES = 60_000  # MNIST's and Fashion-MNIST's training split: what a run without --limit trains on


def most_clusters(images: int | None) -> int:
    """The most clusters a self-conditioned run on `images` training images (0 or None: all) may ask for; at least 2."""
    return max(2, min(images or TRAIN_IMAGES, CLUSTER_ANCHORS) // CLUSTER_NEIGHBOURS)


@dataclasses.dataclass(frozen=True)
class Bounds:
    """The values a number a user gives may take: lo ... hi, each end included unless open (and 0 where `zero` names
    its meaning). TrainConfig's fields, the CLI's other flags and tune()'s arguments are checked against theirs
    before anything is written, and --help shows them. The upper ends keep every size within a machine's memory."""

    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False
    zero: str | None = None  # what 0 means where 0 is outside lo ... hi but allowed, e.g. "off"

    def holds(self, value: float) -> bool:
        return (self.zero is not None and value == 0) or (value > self.lo if self.lo_open else value >= self.lo) and (
            value < self.hi if self.hi_open else value <= self.hi)

    def describe(self, integer: bool) -> str:
        """e.g. 'a positive integer up to 4,096', 'an integer from 0 to 4,294,967,295', '> 0 and at most 8',
        'in [0, 1)', '0 (off) or a positive integer up to 100,000'."""
        if self.zero is not None:
            return f"0 ({self.zero}) or " + dataclasses.replace(self, zero=None).describe(integer)
        if integer:
            return (f"a positive integer up to {self.hi:,}" if self.lo == 1 else
                    f"an integer from {self.lo:,} to {self.hi:,}")
        if self.hi_open:
            return f"in {'(' if self.lo_open else '['}{_number(self.lo)}, {_number(self.hi)})"
        return f"{'>' if self.lo_open else '>='} {_number(self.lo)} and at most {_number(self.hi)}"

    def check(self, name: str, value, integer: bool) -> None:
        """Raise GanMnistError("{name} must be {describe}, got {value}") unless `value` is a number of the kind
        (an int for `integer`; never a bool) within the bounds."""
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not self.holds(value):
            raise GanMnistError(f"{name} must be {self.describe(integer)}, got {value!r}")


def _number(value: float) -> str:
    """1000000.0 -> '1,000,000', 0.5 -> '0.5'."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


# draws of samples `evaluate --draws` and `compare --draws` score one after another (each of --n samples)
DRAWS = Bounds(1, 20)
