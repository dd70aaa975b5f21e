"""``python -m syncengine``: the same as the ``syncengine`` console script."""

from __future__ import annotations

from syncengine.cli import main

if __name__ == "__main__":
    main()
