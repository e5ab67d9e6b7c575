"""/api/v1/email-templates: the pinned JSON."""

from __future__ import annotations

from volano.contacts.models import Contact

BODY = {
    "slug": "newsletter-marzo",
    "name": "Newsletter di marzo",
    "subject": "Ciao {{ contact.first_name|default('cliente') }}",
    "mjml": "<mjml><mj-body><mj-section><mj-column><mj-text>{{ blocks.intro }}</mj-text>"
    "</mj-column></mj-section></mj-body></mjml>",
    "blocks": [
        {
            "key": "intro",
            "variants": [
                {"when": {"field": "province", "op": "eq", "value": "MI"}, "html": "<p>Milano</p>"},
                {"html": "<p>Italia</p>"},
            ],
        }
    ],
}


def test_create_get_list_patch_preview_delete(api, officina):
    anna = Contact.objects.create(workspace=officina, first_name="Anna", province="MI")
    luca = Contact.objects.create(workspace=officina, province="TO")
    created = api.post("/email-templates", BODY)
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["slug"] == "newsletter-marzo" and data["sendable"] is True
    assert data["blocks"] == BODY["blocks"] and data["errors"] == []
    assert api.get("/email-templates/newsletter-marzo").json()["name"] == "Newsletter di marzo"
    assert [t["slug"] for t in api.get("/email-templates").json()["items"]] == ["newsletter-marzo"]

    first = api.get("/email-templates/newsletter-marzo/preview", contact_id=anna.pk).json()
    second = api.get("/email-templates/newsletter-marzo/preview", contact_id=luca.pk).json()
    assert set(first) == {"subject", "html", "text"}
    assert first["subject"] == "Ciao Anna" and second["subject"] == "Ciao cliente"
    assert "Milano" in first["html"] and "Italia" in second["html"]
    assert first["text"].strip() == "Milano"

    patched = api.patch("/email-templates/newsletter-marzo", {"name": "Marzo"})
    assert patched.status_code == 200 and patched.json()["name"] == "Marzo"
    assert patched.json()["mjml"] == BODY["mjml"]
    put = api.put(
        "/email-templates/newsletter-marzo",
        {"name": "HTML", "html": "<p>{{ contact.email }}</p>", "blocks": []},
    )
    assert put.status_code == 200 and put.json()["mjml"] == ""
    assert api.delete("/email-templates/newsletter-marzo").status_code == 204
    assert api.get("/email-templates/newsletter-marzo").status_code == 404


def test_errors_are_a_422_with_line_and_column(api):
    broken = dict(BODY, mjml="<mjml>\n<mj-body>\n  <mj-sectoin></mj-sectoin>\n</mj-body></mjml>")
    reply = api.post("/email-templates", broken)
    assert reply.status_code == 422
    error = reply.json()["error"]["errors"][0]
    assert (error["field"], error["line"], error["column"]) == ("mjml", 3, 3)
    assert api.get("/email-templates/newsletter-marzo").status_code == 404


def test_duplicate_slug_and_other_workspace(api, officina, ferramenta):
    assert api.post("/email-templates", BODY).status_code == 201
    assert api.post("/email-templates", BODY).status_code == 409
    stranger = Contact.objects.create(workspace=ferramenta, first_name="Bruno")
    reply = api.get("/email-templates/newsletter-marzo/preview", contact_id=stranger.pk)
    assert reply.status_code == 404
