"""`make bench`: seeds its own workload, serves the app with gunicorn and measures the
targets of PRODUCT.md §7 (see README "Benchmark"). Nothing here is collected by pytest:
no module is named `test_*`."""
