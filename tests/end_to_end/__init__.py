"""End-to-end and cross-cutting tests: the whole pipeline on real inputs, in a browser, on a
Dask cluster, under hostile input and thread counts, and as an installed wheel."""
