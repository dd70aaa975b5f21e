"""``python -m tools.watsim`` from a checkout runs ``python -m watsim``."""

from __future__ import annotations

import sys

from watsim.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
