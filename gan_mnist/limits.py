"""The ceilings on what a user can ask for, each checked before anything is allocated or written: how many images a
command draws or reads, how big a grid picture gets, which seeds numpy takes, how many clusters self-conditioning
makes."""

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
    """The most clusters a self-conditioned run on `images` training images (None: all) may ask for; at least 2."""
    return max(2, min(images or TRAIN_IMAGES, CLUSTER_ANCHORS) // CLUSTER_NEIGHBOURS)
