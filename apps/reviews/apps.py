from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    """Tenant schema (TENANT_APPS): a business's reviews."""

    name = "apps.reviews"
    label = "reviews"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.core.personal_data import personal_data_section_register
        from apps.directory.ratings import ratings_provider_register
        from apps.reviews import receivers
        from apps.reviews.audit import audit_register
        from apps.reviews.personal_data import reviews_export
        from apps.reviews.selectors import review_ratings_for

        receivers.connect()
        audit_register()
        ratings_provider_register(review_ratings_for)
        personal_data_section_register("reviews", reviews_export)
