from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_signin_hardening")]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="closed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="tenant",
            name="closed_reason",
            field=models.TextField(blank=True),
        ),
        migrations.AlterField(
            model_name="tenant",
            name="status",
            field=models.CharField(
                choices=[
                    ("trial", "Trial"),
                    ("active", "Active"),
                    ("past_due", "Past due"),
                    ("suspended", "Suspended"),
                    ("closed", "Closed"),
                ],
                default="trial",
                max_length=16,
            ),
        ),
    ]
