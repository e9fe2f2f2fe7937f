"""Every non-2xx answer under /api/ is the one envelope, with the right status."""

from __future__ import annotations

import pytest

from apps.api.views import catalogue as catalogue_views
from tests.api.calls import error_of, send_json

pytestmark = pytest.mark.django_db


def test_malformed_json_is_400_malformed_request(admin_client):
    response = admin_client.post(
        "/api/v1/admin/locations", data="{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "MALFORMED_REQUEST"


def test_a_json_list_where_an_object_is_expected_is_400(admin_client, catalogue):
    response = send_json(admin_client, "post", "/api/v1/admin/locations", [1, 2])
    patch = send_json(
        admin_client, "patch", f"/api/v1/admin/locations/{catalogue.location.pk}", "text"
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "VALIDATION_ERROR"
    assert patch.status_code == 400


def test_form_bodies_are_415(admin_client):
    response = admin_client.post("/api/v1/admin/locations", {"name": "A", "timezone": "UTC"})

    assert response.status_code == 415
    assert error_of(response)["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_unknown_api_paths_are_404_in_the_envelope_for_every_method(anon_client):
    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(anon_client, method)("/api/v1/nothing/here")
        assert response.status_code == 404, method
        assert response["Content-Type"] == "application/json"
        assert error_of(response)["code"] == "NOT_FOUND"
    assert anon_client.get("/api/v2/services").status_code == 404
    assert anon_client.get("/api/v1/bookings/not-a-uuid").status_code == 404


def test_a_path_with_a_line_break_is_still_an_enveloped_404(anon_client):
    response = anon_client.post("/api/v1/bookings/%C2%86%0A1Z/confirm")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert error_of(response)["code"] == "NOT_FOUND"


def test_a_known_path_with_another_method_is_405(anon_client):
    response = anon_client.delete("/api/v1/services")

    assert response.status_code == 405
    assert error_of(response)["code"] == "METHOD_NOT_ALLOWED"


def test_asking_for_xml_is_406(anon_client):
    response = anon_client.get("/api/v1/services", HTTP_ACCEPT="application/xml")

    assert response.status_code == 406
    assert error_of(response)["code"] == "NOT_ACCEPTABLE"


def test_validation_details_name_nested_fields(admin_client):
    response = send_json(
        admin_client,
        "post",
        "/api/v1/admin/services",
        {"name": "Yoga", "duration_minutes": "long", "resources": ["x", "y"]},
    )

    error = error_of(response)
    assert response.status_code == 400
    assert error["code"] == "VALIDATION_ERROR"
    fields = {d["field"] for d in error["details"]}
    assert {"duration_minutes", "resources.0", "resources.1"} <= fields


def test_the_request_id_a_caller_sends_comes_back_in_the_error(anon_client):
    response = anon_client.get("/api/v1/nothing", HTTP_X_REQUEST_ID="trace-123")

    assert error_of(response)["request_id"] == "trace-123"


def test_an_unexpected_failure_is_a_500_envelope_without_internals(
    anon_client, catalogue, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(catalogue_views, "location_list", broken)

    response = anon_client.get("/api/v1/locations")

    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "INTERNAL_ERROR"
    assert "secret" not in response.content.decode()
