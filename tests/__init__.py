"""mtdrift's tests (a regular package, so that ``tests`` is this folder even where a
dependency installed a top-level ``tests`` package into site-packages)."""
