"""``python -m mtdrift``: the command line."""

from mtdrift.eval.cli import main

raise SystemExit(main())
