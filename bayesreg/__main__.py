"""``python -m bayesreg``: the same as the ``bayesreg`` command."""

import sys

from .cli import main

sys.exit(main())
