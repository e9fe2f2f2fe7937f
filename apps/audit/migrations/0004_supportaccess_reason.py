"""Support accesses say why: the reason an agent typed (before a tenant's admin opens,
and for each cross-tenant look-up) and what a look-up asked (`details`).

Both columns have a database default, so rows written by SQL (the purge's tests, older
code during a deploy) still insert. Adding a column updates no row, so the append-only
guard (0003) is not in the way."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_audit_trails_append_only"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="supportaccess",
            options={"ordering": ["-created_at"], "verbose_name_plural": "support accesses"},
        ),
        migrations.AddField(
            model_name="supportaccess",
            name="details",
            field=models.JSONField(blank=True, db_default={}, default=dict),
        ),
        migrations.AddField(
            model_name="supportaccess",
            name="reason",
            field=models.TextField(blank=True, db_default="", default=""),
        ),
    ]
