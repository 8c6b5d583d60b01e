"""``python -m server`` = ``darkroom``."""

import sys

from server.cli import main

sys.exit(main())
