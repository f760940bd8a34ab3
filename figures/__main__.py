"""``python -m figures``: see ``python -m figures --help``."""

from figures._cli import main

raise SystemExit(main())
