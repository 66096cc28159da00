"""``python -m reactor``: the ``reactor`` command line."""

import sys

from reactor.cli import main

sys.exit(main())
