"""The ceilings on what a user can ask for, each checked before anything is allocated or written: how many images a
command draws or reads, how big a grid picture gets, which seeds numpy takes."""

# images `sample`, `evaluate`, `compare`, `--eval-samples` and `--samples` files take: 3 GB as float32
MAX_SAMPLES = 1_000_000
MAX_GRID = 10_000  # images in one grid picture (`sample --out x.png`): 2,800 x 2,800 pixels
MAX_SEED = 2**32 - 1  # numpy's seeds are 0 ... 2**32 - 1
