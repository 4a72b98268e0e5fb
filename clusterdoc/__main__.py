"""``python -m clusterdoc``: the same as the ``clusterdoc`` console script."""

from clusterdoc.cli import main

raise SystemExit(main())
