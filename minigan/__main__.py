"""``python -m minigan`` is the ``minigan`` command."""

import sys

from minigan.app.cli import main

sys.exit(main())
