"""gunicorn settings for the metrics' multiprocess files (config/metrics_files.py), loaded
with `gunicorn -c config/gunicorn_conf_metrics.py`. A gunicorn configuration of its own
calls the same two functions from its `on_starting` and `child_exit`."""

from config.metrics_files import gunicorn_child_exit, gunicorn_on_starting

on_starting = gunicorn_on_starting
child_exit = gunicorn_child_exit
