"""A tenant app that exists only for the bench's migration roll-out figure: one new
migration (a table and an index) applied across every tenant schema by
`setup_database`, as a deploy would (tests/bench/run.py `migration_rollout`). Installed
only when BENCH_ROLLOUT=1 (config/settings/bench.py)."""
