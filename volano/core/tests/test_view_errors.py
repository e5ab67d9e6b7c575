"""The one mapping from a service's ApplicationError to a page's answer (core/view_errors.py)."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from volano.contacts import services
from volano.core.errors import ApplicationError, Conflict, NotFound
from volano.core.view_errors import application_error_response

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, giulia):
    client.force_login(giulia)
    return client


@pytest.fixture
def luca(officina, giulia):
    return services.contact_create(
        workspace=officina,
        actor=giulia,
        data={"first_name": "Luca", "last_name": "Rossi", "email": "luca@example.it"},
    )


def test_a_marked_view_goes_back_to_its_page_with_the_message(signed_in, luca):
    url = reverse("contacts:merge", args=[luca.pk])
    response = signed_in.post(url, {"duplicate_id": luca.pk})
    assert response.status_code == 302 and response["Location"] == url
    assert "cannot merge a contact into itself" in signed_in.get(url).content.decode()


def test_an_htmx_request_goes_back_with_hx_redirect(signed_in, luca):
    url = reverse("contacts:merge", args=[luca.pk])
    response = signed_in.post(url, {"duplicate_id": luca.pk}, headers={"HX-Request": "true"})
    assert response.status_code == 204 and response["HX-Redirect"] == url
    assert "cannot merge a contact into itself" in signed_in.get(url).content.decode()


def _request(htmx: bool = False):
    headers = {"HX-Request": "true"} if htmx else {}
    request = RequestFactory().post("/somewhere/", headers=headers)
    request.resolver_match = None  # a view nobody marked with @error_redirect
    from django_htmx.middleware import HtmxDetails

    request.htmx = HtmxDetails(request)  # type: ignore[attr-defined]
    return request


def test_an_unmarked_view_answers_the_message_with_the_errors_status():
    with translation.override("en"):
        response = application_error_response(_request(), Conflict("that email is taken"))
    assert response.status_code == 409
    assert "that email is taken" in response.content.decode()
    assert "This could not be done" in response.content.decode()


def test_an_unmarked_htmx_request_gets_the_fragment_alone():
    response = application_error_response(_request(htmx=True), ApplicationError("bad value"))
    html = response.content.decode()
    assert response.status_code == 400 and 'role="alert"' in html and "bad value" in html
    assert "<html" not in html


def test_not_found_is_the_404_page():
    with pytest.raises(Http404):
        application_error_response(_request(), NotFound("no such thing"))
