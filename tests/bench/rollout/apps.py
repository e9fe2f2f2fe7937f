from django.apps import AppConfig


class RolloutConfig(AppConfig):
    name = "tests.bench.rollout"
    label = "bench_rollout"
    default_auto_field = "django.db.models.BigAutoField"
