"""The new migration the bench rolls out: a table with an index, as a typical feature
migration adds (no model class: the app carries its migration only)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="RolloutNote",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.AddIndex(
            model_name="rolloutnote",
            index=models.Index(fields=["name", "created_at"], name="bench_rollout_name_idx"),
        ),
    ]
