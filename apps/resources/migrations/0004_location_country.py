from django.db import migrations, models

from apps.core.timezones import zone_country


def country_from_zone(apps, schema_editor):
    Location = apps.get_model("resources", "Location")
    for location in Location.objects.filter(country=""):
        country = zone_country(location.timezone)
        if country:
            location.country = country
            location.save(update_fields=["country"])


class Migration(migrations.Migration):
    dependencies = [
        ("resources", "0003_service_deposit"),
    ]

    operations = [
        migrations.AddField(
            model_name="location",
            name="country",
            field=models.CharField(blank=True, default="", max_length=2),
        ),
        migrations.RunPython(country_from_zone, migrations.RunPython.noop),
    ]
