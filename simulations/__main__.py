"""``python -m simulations``: see ``python -m simulations --help``."""

from simulations._cli import main

raise SystemExit(main())
