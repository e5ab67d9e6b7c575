"""Seed 004's three workflows as ready templates, in Italian: `nuovo-contatto`,
`contatto-non-convertito`, `cliente-perso` (docs/workflows.md, "Templates").

A template is a parameter schema and a function from checked parameters to the pinned
definition and the email templates it sends (Italian copy, created with the workflow). The
schema is plain data (`workflow_templates()`), so the builder can draw a form from it; the
checker names the bad parameter (`parameters.sections[0].url_contains`) in Italian and English.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from volano.core.errors import ApplicationError


class ParameterError(ApplicationError):
    status_code = 422


@dataclass(frozen=True)
class Param:
    key: str
    type: str  # text, url, slug, number, integer, sections, stage, field
    label: Any
    required: bool = False
    default: Any = None
    help: Any = ""

    def schema(self) -> dict:
        return {
            "key": self.key,
            "type": self.type,
            "label": str(self.label),
            "required": self.required,
            "default": self.default,
            "help": str(self.help),
        }


@dataclass(frozen=True)
class EmailCopy:
    key: str  # the template's slug is "<workflow slug>-<key>"
    name: str
    subject: str
    html: str


@dataclass(frozen=True)
class Template:
    slug: str
    name: Any
    description: Any
    params: tuple[Param, ...]
    build: Callable[[dict, str], tuple[dict, list[EmailCopy], list[tuple[str, str]]]]
    # build(parameters, prefix) → (definition, emails, custom fields [(key, label)] it writes)


# -- the copy -----------------------------------------------------------------------------------


def _email(title: str, paragraphs: list[str], button: tuple[str, str] | None = None) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    if button:
        body += (
            f'<p><a href="{button[1]}" style="display:inline-block;padding:12px 20px;'
            f'background:#1f5fa8;color:#ffffff;text-decoration:none;border-radius:4px">'
            f"{button[0]}</a></p>"
        )
    return (
        "<html><body>"
        f"<h1>{title}</h1>"
        "<p>Ciao {{ contact.first_name|default('') }},</p>"
        f"{body}"
        "<p>A presto,<br>il team</p>"
        "</body></html>"
    )


# -- checks ---------------------------------------------------------------------------------------


def _fail(message: str, key: str) -> ParameterError:
    return ParameterError(message, field=f"parameters.{key}")


def _url(value: Any, key: str) -> str:
    if (
        not isinstance(value, str)
        or not value.startswith(("https://", "http://"))
        or len(value) > 500
        or any(c in value for c in ' "<>{}\x00')
    ):
        raise _fail(_("expected a web address (https://…)"), key)
    return value


def _text(value: Any, key: str, length: int = 80) -> str:
    """A plain text (it goes into the emails' copy: no markup, no template syntax)."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > length
        or any(c in value for c in "\x00<>{}%")
    ):
        raise _fail(
            _("expected a plain text of at most %(n)s characters (without < > { } %%)")
            % {"n": length},
            key,
        )
    return value.strip()


def _slug(value: Any, key: str) -> str:
    from django.utils.text import slugify

    text = _text(value, key)
    if slugify(text) != text:
        raise _fail(_("expected a slug (lower-case letters, digits, dashes)"), key)
    return text


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > 2**53:
        raise _fail(_("expected a number"), key)
    return value


def _integer(value: Any, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(
            _("expected a whole number from %(low)s to %(high)s") % {"low": low, "high": high}, key
        )
    return value


def parameters_clean(template: Template, parameters: Any) -> dict:
    """The parameters checked against the template's schema, defaults filled in."""
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise ParameterError(_("expected an object of parameters"), field="parameters")
    known = {p.key for p in template.params}
    for key in parameters:
        if key not in known:
            raise _fail(
                _("unknown parameter; this template takes: %(keys)s")
                % {"keys": ", ".join(sorted(known))},
                str(key)[:80],
            )
    clean: dict[str, Any] = {}
    for param in template.params:
        value = parameters.get(param.key)
        if value is None:
            if param.required:
                raise _fail(_("this parameter is required"), param.key)
            clean[param.key] = param.default
            continue
        if param.type == "url":
            clean[param.key] = _url(value, param.key)
        elif param.type == "slug":
            clean[param.key] = _slug(value, param.key)
        elif param.type == "text":
            clean[param.key] = _text(value, param.key, 200)
        elif param.type == "number":
            clean[param.key] = _number(value, param.key)
        elif param.type == "integer":
            clean[param.key] = _integer(value, param.key, -3650, 3650)
        elif param.type == "field":
            text = _text(value, param.key, 120)
            clean[param.key] = text
        elif param.type == "sections":
            clean[param.key] = _sections(value, param.key)
    return clean


def _sections(value: Any, key: str) -> list[dict]:
    if not isinstance(value, list) or not 1 <= len(value) <= 20:
        raise _fail(_("from 1 to 20 sections, each with url_contains and material_url"), key)
    sections = []
    for index, section in enumerate(value):
        where = f"{key}[{index}]"
        if not isinstance(section, dict):
            raise _fail(_("expected an object with url_contains and material_url"), where)
        for name in section:
            if name not in ("url_contains", "material_url", "second_url"):
                raise _fail(_("unknown key; use url_contains, material_url, second_url"), where)
        sections.append(
            {
                "url_contains": _text(section.get("url_contains"), f"{where}.url_contains", 200),
                "material_url": _url(section.get("material_url"), f"{where}.material_url"),
                "second_url": _url(section["second_url"], f"{where}.second_url")
                if section.get("second_url") is not None
                else None,
            }
        )
    return sections


# -- nuovo-contatto -------------------------------------------------------------------------------


def _nuovo_contatto(p: dict, prefix: str) -> tuple[dict, list[EmailCopy], list[tuple[str, str]]]:
    sections = p["sections"]
    # the second email links another material: the section's second_url, else the next section's
    seconds = [
        {
            "url_contains": s["url_contains"],
            "value": s["second_url"] or sections[(i + 1) % len(sections)]["material_url"],
        }
        for i, s in enumerate(sections)
    ]
    first = [{"url_contains": s["url_contains"], "value": s["material_url"]} for s in sections]
    t = f"{prefix}-"
    trigger: dict = {"kind": "form_submitted"}
    if p["form"]:
        trigger["form"] = p["form"]
    definition = {
        "name": p["name"] or "Nuovo contatto",
        "category": "nurturing",
        "trigger": trigger,
        "steps": [
            # "at once" as the law allows it: a form with double opt-in records the consent as
            # pending, and a marketing email before the click on the confirmation would be
            # skipped; so the thank-you goes at once when the consent is there (single opt-in,
            # a known contact), else the moment it is confirmed (the consent_changed event wakes
            # the wait). Who never confirms gets nothing and leaves after a week.
            {"key": "consenso", "kind": "wait_for",
             "when": {"field": "consent.email_marketing", "op": "eq", "value": "granted"},
             "timeout_days": 7, "then": [],
             "else": [{"key": "senza-consenso", "kind": "exit",
                       "reason": "consenso alle email non confermato entro una settimana"}]},
            {"key": "sezione-preferita", "kind": "set_top_section",
             "field": "custom.materiale_consigliato", "sections": first,
             "default": first[0]["value"]},
            {"key": "secondo-materiale", "kind": "set_top_section",
             "field": "custom.secondo_materiale", "sections": seconds,
             "default": seconds[0]["value"]},
            {"key": "grazie", "kind": "send_email", "template": t + "grazie"},
            {"key": "una-settimana", "kind": "wait", "days": 7},
            {"key": "secondo", "kind": "send_email", "template": t + "secondo"},
            # as the seed writes it: who clicked a link of either email gets the newsletter
            # invitation a week after the second; who clicked neither the video email ten days
            # after the second
            {"key": "una-settimana-dopo", "kind": "wait", "days": 7},
            {"key": "ha-cliccato", "kind": "branch",
             "on": {"steps": ["grazie", "secondo"], "did": "clicked"},
             "then": [{"key": "newsletter", "kind": "send_email", "template": t + "newsletter"}],
             "else": [{"key": "tre-giorni", "kind": "wait", "days": 3},
                      {"key": "video", "kind": "send_email", "template": t + "video"}]},
        ],
    }  # fmt: skip
    social = p["social_url"]
    emails = [
        EmailCopy("grazie", "Nuovo contatto · grazie", "Grazie! Ecco un approfondimento per te",
                  _email("Grazie per averci scritto",
                         ["Abbiamo visto che ti interessa soprattutto un tema del nostro report: "
                          "ecco un approfondimento scelto per te."],
                         ("Leggi l'approfondimento", "{{ contact.custom.materiale_consigliato }}"))),
        EmailCopy("secondo", "Nuovo contatto · secondo materiale",
                  "Un altro spunto sul tema che ti interessa",
                  _email("Ancora qualcosa per te",
                         ["Una settimana fa ti abbiamo mandato un primo approfondimento. Eccone "
                          "un altro, diverso, sullo stesso argomento."],
                         ("Scopri di più", "{{ contact.custom.secondo_materiale }}"))),
        EmailCopy("newsletter", "Nuovo contatto · invito alla newsletter",
                  "Vuoi ricevere altri contenuti come questi?",
                  _email("Resta aggiornato",
                         ["Ti sono piaciuti i contenuti che ti abbiamo inviato? Iscriviti alla "
                          "nostra newsletter: un'email al mese, solo cose utili."],
                         ("Iscriviti alla newsletter", p["newsletter_url"]))),
        EmailCopy("video", "Nuovo contatto · video e social",
                  "Due minuti di video, per conoscerci meglio",
                  _email("Guardalo qui, in due minuti",
                         [f'<a href="{p["video_url"]}"><img src="{p["video_image_url"]}" '
                          'alt="Guarda il video" width="560"></a>',
                          "Se ti è piaciuto, seguici sui social o iscriviti al nostro canale "
                          "YouTube: pubblichiamo ogni settimana."],
                         ("Seguici", social))),
    ]  # fmt: skip
    fields = [
        ("materiale_consigliato", "Materiale consigliato (workflow)"),
        ("secondo_materiale", "Secondo materiale (workflow)"),
    ]
    return definition, emails, fields


# -- contatto-non-convertito ------------------------------------------------------------------------


def _answered(form: str | None) -> dict:
    """The feedback answer: that form submitted, else any survey answered."""
    if form:
        return {"event": "form_submitted", "where": {"form": form}}
    return {"event": "survey_answered"}


def _contatto_non_convertito(
    p: dict, prefix: str
) -> tuple[dict, list[EmailCopy], list[tuple[str, str]]]:
    t = f"{prefix}-"
    answered = _answered(p["feedback_form"])
    steps: list[dict] = []
    if p["score_model"]:
        steps.append(
            {"key": "contatto-caldo", "kind": "branch",
             "when": {"field": f"score.{p['score_model']}", "op": "gte", "value": p["min_score"]},
             "then": [], "else": [{"key": "non-caldo", "kind": "exit",
                                   "reason": "punteggio sotto la soglia"}]}
        )  # fmt: skip
    steps += [
        {"key": "richiesta-feedback", "kind": "send_email", "template": t + "feedback"},
        {"key": "risposta", "kind": "wait_for", "event": answered, "timeout_days": 7,
         "then": [{"key": "grazie", "kind": "send_email", "template": t + "grazie"}],
         "else": [{"key": "sollecito", "kind": "send_email", "template": t + "sollecito"}]},
        {"key": "tre-giorni", "kind": "wait", "days": 3},
        {"key": "novita", "kind": "send_email", "template": t + "novita"},
        {"key": "una-settimana", "kind": "wait", "days": 7},
        {"key": "ha-risposto", "kind": "branch",
         "when": {**answered, "within_days": 30},
         "then": [{"key": "ha-aperto-novita", "kind": "branch",
                   "on": {"step": "novita", "did": "clicked"},
                   "then": [{"key": "invito-incontro", "kind": "send_email",
                             "template": t + "incontro"}],
                   "else": []}],
         "else": [{"key": "ha-interagito", "kind": "branch",
                   "on": {"steps": ["richiesta-feedback", "sollecito", "novita"],
                          "did": "opened"},
                   "then": [],
                   "else": [{"key": "altro-workflow", "kind": "enrol_in_workflow",
                             "workflow": p["fallback_workflow"]},
                            {"key": "spostato", "kind": "exit",
                             "reason": "nessuna interazione: spostato su un altro workflow"}]}]},
    ]  # fmt: skip
    definition = {
        "name": p["name"] or "Contatto non convertito",
        "category": "nurturing",
        "trigger": {"kind": "segment_entered", "segment": p["segment"]},
        "steps": steps,
    }
    event = p["event_name"]
    emails = [
        EmailCopy("feedback", "Non convertito · richiesta di feedback",
                  f"Com'è andato {event}? Ci dici la tua?",
                  _email(f"Grazie per aver partecipato a {event}",
                         ["In breve: abbiamo parlato delle novità del settore e risposto alle "
                          "domande dei partecipanti. Ci aiuti a fare meglio la prossima volta?"],
                         ("Lascia il tuo feedback", p["feedback_url"]))),
        EmailCopy("grazie", "Non convertito · grazie del feedback",
                  "Grazie del tuo feedback!",
                  _email("Grazie!",
                         ["Il tuo parere ci è prezioso. Ti aspettiamo al prossimo appuntamento, "
                          "oppure fissa un incontro quando ti fa comodo."],
                         ("Il prossimo evento e il calendario", p["next_event_url"]))),
        EmailCopy("sollecito", "Non convertito · seconda richiesta",
                  "Un minuto per il tuo parere?",
                  _email(f"Ci manca solo il tuo parere su {event}",
                         ["Bastano due domande: ci aiuta a preparare eventi più utili per te."],
                         ("Rispondi ora", p["feedback_url"]))),
        EmailCopy("novita", "Non convertito · novità sul tema",
                  f"Novità sul tema di {event}",
                  _email("Le ultime novità",
                         ["Abbiamo raccolto alcune notizie e un contenuto legato al tema "
                          "dell'evento a cui hai partecipato."],
                         ("Leggi le novità", p["news_url"]))),
        EmailCopy("incontro", "Non convertito · invito in azienda",
                  "Ti va di venirci a trovare?",
                  _email("Un incontro in azienda",
                         ["Grazie per il tuo feedback e per l'interesse. Ti invitiamo a un "
                          "incontro nella nostra sede: scegli tu il giorno."],
                         ("Prenota l'incontro", p["meeting_url"]))),
    ]  # fmt: skip
    return definition, emails, []


# -- cliente-perso ---------------------------------------------------------------------------------


def _cliente_perso(p: dict, prefix: str) -> tuple[dict, list[EmailCopy], list[tuple[str, str]]]:
    t = f"{prefix}-"
    if bool(p["expiry_field"]) == bool(p["lost_stage"]):
        raise _fail(
            _("give either expiry_field (a date field) or lost_stage, not both"), "expiry_field"
        )
    renewed: list[dict] = [{"event": "order", "within_days": 45}]
    if p["expiry_field"]:
        trigger = {
            "kind": "date_property", "field": p["expiry_field"], "offset_days": p["offset_days"],
        }  # fmt: skip
    else:
        trigger = {"kind": "stage_changed", "stage": p["lost_stage"]}
        renewed.append({"field": "lifecycle_stage", "op": "eq", "value": "customer"})
    answered = _answered(p["questionnaire_form"])
    definition = {
        "name": p["name"] or "Cliente perso",
        "category": "recupero",
        "trigger": trigger,
        "goal": {"any": renewed},
        "steps": [
            {"key": "rinnovo", "kind": "send_email", "template": t + "rinnovo"},
            {"key": "clic-rinnovo", "kind": "wait_for",
             "on": {"step": "rinnovo", "did": "clicked"}, "timeout_days": 7,
             "then": [{"key": "tempo-per-rinnovare", "kind": "wait", "days": 7}],
             "else": [
                 {"key": "benefici", "kind": "send_email", "template": t + "benefici"},
                 {"key": "clic-benefici", "kind": "wait_for",
                  "on": {"step": "benefici", "did": "clicked"}, "timeout_days": 10,
                  "then": [{"key": "tempo-dopo-benefici", "kind": "wait", "days": 7}],
                  "else": [{"key": "promemoria", "kind": "send_email",
                            "template": t + "promemoria"},
                           {"key": "dopo-promemoria", "kind": "wait", "days": 7}]},
             ]},
            {"key": "questionario", "kind": "send_email", "template": t + "questionario"},
            {"key": "risposta", "kind": "wait_for", "event": answered, "timeout_days": 7,
             "then": [{"key": "follow-up", "kind": "create_task", "to": p["task_to"],
                       "title": "Follow-up: ha risposto al questionario sul mancato rinnovo",
                       "body": "Leggi le risposte nella cronologia del contatto e richiamalo "
                               "sulla base delle sue osservazioni.",
                       "due_days": 2}],
             "else": [{"key": "nurturing", "kind": "enrol_in_workflow",
                       "workflow": p["nurture_workflow"]},
                      {"key": "spostato", "kind": "exit",
                       "reason": "né rinnovo né questionario: spostato sul nurturing"}]},
        ],
    }  # fmt: skip
    emails = [
        EmailCopy("rinnovo", "Cliente perso · rinnovo",
                  "Il tuo contratto è scaduto: lo rinnoviamo?",
                  _email("Forse ti è sfuggita la scadenza",
                         ["Il tuo contratto con noi è scaduto. Capita di dimenticarlo: "
                          "rinnovarlo richiede un minuto."],
                         ("Rinnova ora", p["renewal_url"]))),
        EmailCopy("benefici", "Cliente perso · benefici",
                  "Cosa ti perdi senza il contratto",
                  _email("I vantaggi del contratto",
                         ["Interventi prioritari, ricambi scontati e un tecnico che conosce già "
                          "le tue macchine: ecco cosa include il rinnovo."],
                         ("Rinnova e tieni i vantaggi", p["renewal_url"]))),
        EmailCopy("promemoria", "Cliente perso · promemoria",
                  "Promemoria: il rinnovo ti aspetta",
                  _email("Un promemoria",
                         ["Il tuo rinnovo è ancora possibile alle stesse condizioni."],
                         ("Rinnova adesso", p["renewal_url"]))),
        EmailCopy("questionario", "Cliente perso · questionario",
                  "Ci dici perché non hai rinnovato?",
                  _email("Due domande, per migliorare",
                         ["Ci aiuti a capire perché non hai rinnovato? Il questionario richiede "
                          f'un minuto: <a href="{p["questionnaire_url"]}">rispondi qui</a>.',
                          "Se ci hai ripensato, o non avevi ricevuto i nostri avvisi, puoi "
                          "ancora rinnovare."],
                         ("Rinnova", p["renewal_url"]))),
    ]  # fmt: skip
    return definition, emails, []


_NAME = Param("name", "text", gettext_lazy("Workflow name"))

TEMPLATES: dict[str, Template] = {
    t.slug: t
    for t in (
        Template(
            "nuovo-contatto",
            gettext_lazy("New contact"),
            gettext_lazy(
                "A form is submitted: at once a thank-you with the material of the report "
                "section the contact read longest; a week later a second material; who clicked "
                "gets the newsletter invitation a week after, who did not a video email after "
                "ten days."
            ),
            (
                _NAME,
                Param("form", "slug", gettext_lazy("Form (empty: any form)")),
                Param(
                    "sections",
                    "sections",
                    gettext_lazy("Report sections"),
                    required=True,
                    help=gettext_lazy(
                        "Each: url_contains (part of the section's address), material_url, "
                        "second_url (optional)"
                    ),
                ),
                Param(
                    "newsletter_url",
                    "url",
                    gettext_lazy("Newsletter sign-up page"),
                    default="https://www.example.it/newsletter",
                ),
                Param(
                    "video_url", "url", gettext_lazy("Video"), default="https://www.youtube.com/"
                ),
                Param(
                    "video_image_url",
                    "url",
                    gettext_lazy("Video preview image"),
                    default="https://img.youtube.com/vi/default/hqdefault.jpg",
                ),
                Param(
                    "social_url",
                    "url",
                    gettext_lazy("Social page or YouTube channel"),
                    default="https://www.youtube.com/",
                ),
            ),
            _nuovo_contatto,
        ),
        Template(
            "contatto-non-convertito",
            gettext_lazy("Contact not converted yet"),
            gettext_lazy(
                "A warm contact who attended several events: a feedback request on the last "
                "event; a thank-you if they answer, a second request a week later if not; news "
                "three days later; an invitation to a meeting for who answered and clicked; "
                "who interacted with nothing moves to another workflow."
            ),
            (
                _NAME,
                Param(
                    "segment",
                    "slug",
                    gettext_lazy("Segment of people who attended events"),
                    required=True,
                ),
                Param("score_model", "slug", gettext_lazy("Score model (optional)")),
                Param("min_score", "number", gettext_lazy("Minimum score"), default=50),
                Param(
                    "event_name",
                    "text",
                    gettext_lazy("The last event's name"),
                    default="il nostro ultimo evento",
                ),
                Param(
                    "feedback_form",
                    "slug",
                    gettext_lazy("Feedback form (empty: any survey answer)"),
                ),
                Param("feedback_url", "url", gettext_lazy("Feedback page"), required=True),
                Param(
                    "next_event_url",
                    "url",
                    gettext_lazy("Next event or appointment calendar"),
                    required=True,
                ),
                Param("news_url", "url", gettext_lazy("News on the event's theme"), required=True),
                Param("meeting_url", "url", gettext_lazy("Meeting booking page"), required=True),
                Param(
                    "fallback_workflow",
                    "slug",
                    gettext_lazy("Workflow for who interacted with nothing"),
                    required=True,
                ),
            ),
            _contatto_non_convertito,
        ),
        Template(
            "cliente-perso",
            gettext_lazy("Lost customer"),
            gettext_lazy(
                "A contract not renewed: a renewal call to action; the benefits a week later; a "
                "reminder ten days later; then a short questionnaire. Who answers gets a "
                "follow-up task for the owner; who neither answers nor renews moves to a "
                "nurturing workflow. Renewing ends it."
            ),
            (
                _NAME,
                Param(
                    "expiry_field",
                    "field",
                    gettext_lazy("Contract expiry date field (or lost_stage)"),
                    help=gettext_lazy("e.g. custom.scadenza_contratto"),
                ),
                Param("offset_days", "integer", gettext_lazy("Days after the expiry"), default=1),
                Param("lost_stage", "slug", gettext_lazy("Lost-customer stage (or expiry_field)")),
                Param("renewal_url", "url", gettext_lazy("Renewal page"), required=True),
                Param(
                    "questionnaire_url", "url", gettext_lazy("Questionnaire page"), required=True
                ),
                Param(
                    "questionnaire_form",
                    "slug",
                    gettext_lazy("Questionnaire form (empty: any survey answer)"),
                ),
                Param(
                    "task_to",
                    "text",
                    gettext_lazy("Follow-up task for (owner or an email)"),
                    default="owner",
                ),
                Param(
                    "nurture_workflow", "slug", gettext_lazy("Nurturing workflow"), required=True
                ),
            ),
            _cliente_perso,
        ),
    )
}
