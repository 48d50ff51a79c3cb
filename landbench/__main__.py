"""``python -m landbench`` is the ``landbench`` command."""

import sys

from landbench.cli import main

sys.exit(main())
