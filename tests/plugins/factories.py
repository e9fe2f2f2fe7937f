from __future__ import annotations

import factory
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from apps.accounts.admin_sites import support_reason_session_key
from apps.accounts.models import AuthenticatorDevice, Membership, Tenant, User
from apps.resources.models import Location, Resource, Service


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.django.Password("correct-horse-battery")
    # An established account: its address was confirmed (the first-day checklist asks).
    email_confirmed_at = factory.LazyFunction(timezone.now)


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.LazyFunction(lambda: Tenant.objects.get(slug="acme"))
    role = Membership.Role.ADMIN


class TenantFactory(factory.Factory[Tenant]):
    """Creates a real tenant (schema clone + domain + owner) through the service."""

    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"shop{n}")
    name = factory.LazyAttribute(lambda o: f"Shop {o.slug}")
    timezone = "UTC"
    owner = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class: type[Tenant], **kwargs: object) -> Tenant:
        from apps.accounts.services import tenant_create

        return tenant_create(**kwargs)  # type: ignore[arg-type]


def signed_in_with_mfa(client: Client, user: User) -> AuthenticatorDevice:
    """Signs `user` in on `client` as after password + authenticator code: a confirmed
    authenticator, and a session that has passed it."""
    device = AuthenticatorDevice.objects.create(
        user=user, name="Test authenticator", confirmed=True
    )
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def member_client(membership: Membership, host: str) -> Client:
    """A client signed in as this member on `host`; an admin has passed the second factor
    the dashboard asks admins for (PRODUCT.md §4.8), other roles have none set up."""
    client = Client(HTTP_HOST=host)
    if membership.role == Membership.Role.ADMIN:
        signed_in_with_mfa(client, membership.user)
    else:
        client.force_login(membership.user)
    return client


def verified_staff_client(host: str, **user_fields: object) -> Client:
    """A platform support agent signed in on `host` who has passed the second factor
    (a confirmed authenticator, as after the admin's OTP login) and, on a tenant's host,
    has told its admin why they are there (asked once per session; tests of that form
    use `signed_in_with_mfa` instead)."""
    user = UserFactory.create(is_staff=True, is_superuser=True, **user_fields)
    client = Client(HTTP_HOST=host)
    signed_in_with_mfa(client, user)
    tenant = Tenant.objects.filter(domains__domain=host.partition(":")[0]).first()
    if tenant is not None and tenant.schema_name != "public":
        session = client.session
        session[support_reason_session_key(tenant.schema_name)] = "test set-up"
        session.save()
    return client


# --- The catalogue (tenant schema). Test folders subclass these for their own defaults.


class LocationFactory(factory.django.DjangoModelFactory[Location]):
    class Meta:
        model = Location

    name = factory.Sequence(lambda n: f"Clinic {n}")
    timezone = "Europe/London"


class ResourceFactory(factory.django.DjangoModelFactory[Resource]):
    class Meta:
        model = Resource

    name = factory.Sequence(lambda n: f"Room {n}")
    kind = Resource.Kind.PERSON
    location = factory.SubFactory(LocationFactory)


class ServiceFactory(factory.django.DjangoModelFactory[Service]):
    """`ServiceFactory(resources=[r])` links the service to the resources delivering it."""

    class Meta:
        model = Service
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Consultation {n}")
    duration_minutes = 30
    capacity = 1

    @factory.post_generation
    def resources(self, create: bool, extracted: list[Resource] | None, **kwargs: object) -> None:
        if create and extracted:
            self.resources.set(extracted)
