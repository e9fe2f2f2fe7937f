from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0005_notification_recipient"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("confirmed", "Booking confirmed"),
                    ("rescheduled", "Booking rescheduled"),
                    ("cancelled", "Booking cancelled"),
                    ("hold_expired", "Hold expired"),
                    ("reminder", "Reminder"),
                    ("refunded", "Payment refunded"),
                    ("payment_link", "Payment link"),
                ],
                max_length=16,
            ),
        ),
    ]
