"""``python -m lanhar_core.cli``: the ``lanhar`` command without the installed entry point."""

import sys

from lanhar_core.cli import main

sys.exit(main())
