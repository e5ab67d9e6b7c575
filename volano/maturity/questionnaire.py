"""The digital-maturity self-assessment of seed 000: the questions, and how answers become levels.

Seed 000 (`Come le PMI fanno digital marketing: i 4 livelli`) describes four levels of digital
marketing in an SME and three factors that decide which level a company can hold:

    levels   1 presence on the web, 2 actions without a strategic plan,
             3 a strategic plan built on content, 4 a plan built on the customer experience
    factors  management's competence in digital marketing, the people available, the budget

Every practice question has answers that are each evidence of one level (what the seed says a
company at that level does); every factor question's answers are the level that factor can
support. The placing is plain arithmetic a reader can check by hand:

- *what you do* (practice level): the lower median of the practice answers — half of the
  practices or more are at that level or above;
- *what you can hold* (factors level): the middle one of the three factor levels — two of the
  three factors reach it;
- *overall*: the lower of the two, because, as the seed puts it, the combination of the three
  factors decides how far a company's digital marketing can go.

Nothing here reads the database: the module is data and pure functions, so the questionnaire,
its scoring and its explanations are tested without a workspace.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from volano.core.errors import ValidationFailed

LEVELS: dict[int, Promise] = {
    1: _("Presence on the web"),
    2: _("Actions without a strategic plan"),
    3: _("A strategic plan built on content"),
    4: _("A strategic plan built on the customer experience"),
}

LEVEL_SUMMARIES: dict[int, Promise] = {
    1: _(
        "A website and a few social pages, updated now and then; no systematic collection of "
        "contacts, no advertising."
    ),
    2: _(
        "A blog and social posts without a plan, ads now and then with the same message "
        "everywhere, the same email to the whole list."
    ),
    3: _(
        "A planned flow of valuable content on every channel, emails that follow it, lead "
        "acquisition and remarketing campaigns, care for acquired customers."
    ),
    4: _(
        "One customer data platform, content and messages that adapt to each person across "
        "channels, automated and personalised nurturing."
    ),
}

PRACTICE, FACTOR = "practice", "factor"


@dataclass(frozen=True)
class Option:
    key: str
    label: Promise
    level: int


@dataclass(frozen=True)
class Question:
    key: str
    kind: str  # PRACTICE or FACTOR
    text: Promise
    options: tuple[Option, ...]

    def option(self, key: str) -> Option | None:
        return next((o for o in self.options if o.key == key), None)


QUESTIONS: tuple[Question, ...] = (
    Question(
        "website",
        PRACTICE,
        _("Your website and blog"),
        (
            Option("site", _("A website, updated now and then"), 1),
            Option("blog_sometimes", _("A website with a blog we write in now and then"), 2),
            Option(
                "blog_plan",
                _("A blog updated regularly with valuable content, following an editorial plan"),
                3,
            ),
            Option(
                "personalised",
                _("Pages and content that change for each visitor, from what we know of them"),
                4,
            ),
        ),
    ),
    Question(
        "social",
        PRACTICE,
        _("Social media"),
        (
            Option("occasional", _("A few pages, updated occasionally"), 1),
            Option("regular", _("Regular posts, but without a plan"), 2),
            Option("planned", _("A planned flow of posts, consistent on every channel"), 3),
            Option(
                "coordinated",
                _("Coordinated with email and ads, following each person across channels"),
                4,
            ),
        ),
    ),
    Question(
        "advertising",
        PRACTICE,
        _("Advertising"),
        (
            Option("none", _("No advertising"), 1),
            Option(
                "occasional",
                _("Ads now and then on Facebook, Instagram or Google, the same ad everywhere"),
                2,
            ),
            Option(
                "campaigns",
                _("Campaigns on several channels, including lead acquisition and remarketing"),
                3,
            ),
            Option(
                "automated",
                _("Remarketing and automation that adapt the ads to each person's behaviour"),
                4,
            ),
        ),
    ),
    Question(
        "email",
        PRACTICE,
        _("Contacts and email"),
        (
            Option("no_collection", _("We do not collect contacts online systematically"), 1),
            Option("broadcast", _("The same email to the whole list, mostly offers"), 2),
            Option(
                "content_flow",
                _("Emails that follow our content plan, by group of contacts"),
                3,
            ),
            Option(
                "automation",
                _("Automated emails that change with each person's behaviour and interests"),
                4,
            ),
        ),
    ),
    Question(
        "customers",
        PRACTICE,
        _("Customers you already have"),
        (
            Option("none", _("We do not keep in touch after the sale"), 1),
            Option("on_request", _("We answer when customers ask"), 2),
            Option(
                "care",
                _("A customer-care channel and regular news by product category"),
                3,
            ),
            Option("personalised", _("A personalised nurturing path for each customer"), 4),
        ),
    ),
    Question(
        "data",
        PRACTICE,
        _("Customer data"),
        (
            Option("spreadsheets", _("In spreadsheets and mailboxes, or nowhere"), 1),
            Option("list", _("A mailing list and a contacts file"), 2),
            Option("crm", _("A CRM, used by sales and for newsletters"), 3),
            Option(
                "cdp",
                _("One customer data platform collecting every interaction on every channel"),
                4,
            ),
        ),
    ),
    Question(
        "competence",
        FACTOR,
        _("How management sees digital marketing"),
        (
            Option(
                "unknown",
                _("Not a priority: we do not really know what it could do for us"),
                1,
            ),
            Option("basic", _("Useful; we use the main channels at a basic level"), 2),
            Option("lever", _("A lever for growth; we know how to plan it"), 3),
            Option(
                "strategic",
                _("We understand it deeply and lead a customer-experience strategy"),
                4,
            ),
        ),
    ),
    Question(
        "people",
        FACTOR,
        _("Who does the digital marketing"),
        (
            Option("nobody", _("Nobody in particular, whoever has time"), 1),
            Option(
                "part_time",
                _("Someone who also does sales or other work, or a web agency"),
                2,
            ),
            Option(
                "trained",
                _(
                    "A trained person with regular time for it, or an agency that does only "
                    "digital marketing"
                ),
                3,
            ),
            Option(
                "team",
                _(
                    "A dedicated team with specialised skills, in house or with a specialised agency"
                ),
                4,
            ),
        ),
    ),
    Question(
        "budget",
        FACTOR,
        _("The budget for marketing"),
        (
            Option("minimal", _("Almost none"), 1),
            Option("small", _("Small: a junior freelancer or a web agency, a few ads"), 2),
            Option(
                "several_channels",
                _("Enough for several channels and a specialised agency or person"),
                3,
            ),
            Option(
                "platform",
                _(
                    "Enough for a customer data platform, marketing automation and sustained "
                    "advertising"
                ),
                4,
            ),
        ),
    ),
)

BY_KEY: dict[str, Question] = {q.key: q for q in QUESTIONS}
FACTORS = tuple(q.key for q in QUESTIONS if q.kind == FACTOR)


class AnswersInvalid(ValidationFailed):
    """The answers cannot be placed: one {"field": "answers.<question key>", "message"} per wrong
    question; `by_question` maps the question keys to the messages (for the form)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(
            [{"field": f"answers.{key}", "message": message} for key, message in errors.items()]
        )
        self.by_question = errors


@dataclass(frozen=True)
class Placing:
    practice_level: int
    factor_levels: dict[str, int]
    factors_level: int
    overall: int
    # the answer behind each question: question key -> level
    levels: dict[str, int]


def _lower_median(values: list[int]) -> int:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def answers_clean(answers: object) -> dict[str, str]:
    """The answers, checked: every question answered with one of its options, nothing unknown.
    Raises AnswersInvalid naming each question that is missing, unknown or answered wrongly."""
    if not isinstance(answers, dict):
        raise AnswersInvalid({"answers": str(_("The answers must be one choice per question."))})
    errors: dict[str, str] = {}
    for key in answers:
        if key not in BY_KEY:
            errors[str(key)] = str(_("There is no such question."))
    clean: dict[str, str] = {}
    for question in QUESTIONS:
        value = answers.get(question.key)
        if value in (None, ""):
            errors[question.key] = str(_("Choose one answer."))
        elif not isinstance(value, str) or question.option(value) is None:
            errors[question.key] = str(
                _("“%(value)s” is not one of the answers to this question.") % {"value": value}
            )
        else:
            clean[question.key] = value
    if errors:
        raise AnswersInvalid(errors)
    return clean


def place(answers: dict[str, str]) -> Placing:
    """The levels of checked answers (see the module docstring for the arithmetic)."""
    levels = {}
    for key, value in answers.items():
        option = BY_KEY[key].option(value)
        assert option is not None, key
        levels[key] = option.level
    practice = _lower_median([levels[q.key] for q in QUESTIONS if q.kind == PRACTICE])
    factor_levels = {key: levels[key] for key in FACTORS}
    factors = sorted(factor_levels.values())[1]
    return Placing(
        practice_level=practice,
        factor_levels=factor_levels,
        factors_level=factors,
        overall=min(practice, factors),
        levels=levels,
    )


def reasoning(placing: Placing) -> list[str]:
    """Why the company is where it is, in sentences a reader can check against the answers."""
    practices = [q for q in QUESTIONS if q.kind == PRACTICE]
    at_or_above = sum(1 for q in practices if placing.levels[q.key] >= placing.practice_level)
    lines = [
        str(
            _(
                "What you do is at level %(level)s: %(count)s of your %(total)s practices are at "
                "that level or above."
            )
            % {"level": placing.practice_level, "count": at_or_above, "total": len(practices)}
        )
    ]
    ahead = [q for q in practices if placing.levels[q.key] > placing.practice_level]
    behind = [q for q in practices if placing.levels[q.key] < placing.practice_level]
    if ahead:
        lines.append(
            str(_("Ahead of the rest: %(names)s."))
            % {"names": ", ".join(str(q.text).lower() for q in ahead)}
        )
    if behind:
        lines.append(
            str(_("Holding you back: %(names)s."))
            % {"names": ", ".join(str(q.text).lower() for q in behind)}
        )
    factor_text = ", ".join(
        f"{str(BY_KEY[key].text).lower()} {level}" for key, level in placing.factor_levels.items()
    )
    lines.append(
        str(
            _(
                "What you can hold is level %(level)s: two of the three factors reach it "
                "(%(factors)s)."
            )
        )
        % {"level": placing.factors_level, "factors": factor_text}
    )
    if placing.factors_level < placing.practice_level:
        lines.append(
            str(
                _(
                    "You do more than your competence, people and budget can hold: the overall "
                    "level is %(level)s until the weakest factors catch up."
                )
            )
            % {"level": placing.overall}
        )
    elif placing.practice_level < placing.factors_level:
        lines.append(
            str(
                _(
                    "Your competence, people and budget could hold level %(level)s: what you do "
                    "is the thing to change."
                )
            )
            % {"level": placing.factors_level}
        )
    return lines
