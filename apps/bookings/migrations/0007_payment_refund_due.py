"""A refund decided on cancelling is recorded `due` until it is made (one per booking);
the sweep finds the due ones by age."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0006_booking_contact"),
    ]

    operations = [
        migrations.AlterField(
            model_name="payment",
            name="status",
            field=models.CharField(
                choices=[
                    ("open", "Checkout open"),
                    ("succeeded", "Succeeded"),
                    ("expired", "Checkout expired"),
                    ("failed", "Failed"),
                    ("due", "Refund due"),
                ],
                max_length=12,
            ),
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(
                condition=models.Q(("status", "due")),
                fields=["created_at"],
                name="payment_refund_due_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "refund"), ("status", "due")),
                fields=("booking",),
                name="payment_one_refund_due",
            ),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "due"), _negated=True), ("kind", "refund"), _connector="OR"
                ),
                name="payment_due_is_refund",
            ),
        ),
    ]
