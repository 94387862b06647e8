"""``python -m trioapi`` is the ``trioapi`` command."""

import sys

from trioapi.cli import main

sys.exit(main())
