"""``python -m gateway.supervisor`` = ``darkroom serve`` (the server CLI hands over here)."""

import sys

from gateway.supervisor.serve import main

sys.exit(main())
