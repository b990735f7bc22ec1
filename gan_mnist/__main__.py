"""`python -m gan_mnist ...`"""

import sys

from gan_mnist.cli import main

sys.exit(main())
