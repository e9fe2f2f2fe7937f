from django.db import migrations, models
from django.db.models import F


def existing_are_live(apps, schema_editor):
    """Businesses and people from before the first-day checklist are established: every
    business is live (its admins keep the two-step wall) and is not offered public
    holidays again, and every address counts as confirmed."""
    Tenant = apps.get_model("accounts", "Tenant")
    User = apps.get_model("accounts", "User")
    Tenant.objects.filter(live_at__isnull=True).update(
        live_at=F("created_at"), holidays_decided_at=F("created_at")
    )
    User.objects.filter(email_confirmed_at__isnull=True).update(email_confirmed_at=F("date_joined"))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_authenticator_key_encrypted"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="holidays_decided_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="tenant",
            name="live_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="user",
            name="email_confirmed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(existing_are_live, migrations.RunPython.noop),
    ]
