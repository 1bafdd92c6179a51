"""``python -m pdekit``: the ``pdekit`` command line (:mod:`pdekit.cli`)."""

import sys

from pdekit.cli import main

if __name__ == "__main__":
    sys.exit(main())
