"""The questionnaire as a form: one group of radio buttons a question, in two fieldsets."""

from __future__ import annotations

from django import forms

from volano.maturity import questionnaire


class AssessmentForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for question in questionnaire.QUESTIONS:
            self.fields[question.key] = forms.ChoiceField(
                label=str(question.text),
                choices=[(o.key, str(o.label)) for o in question.options],
                widget=forms.RadioSelect,
            )
            self.fields[question.key].kind = question.kind  # type: ignore[attr-defined]

    def practices(self) -> list[forms.BoundField]:
        return [self[q.key] for q in questionnaire.QUESTIONS if q.kind == questionnaire.PRACTICE]

    def factors(self) -> list[forms.BoundField]:
        return [self[q.key] for q in questionnaire.QUESTIONS if q.kind == questionnaire.FACTOR]
