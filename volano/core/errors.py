"""The one error type of Volano.

Services raise `ApplicationError` (or a subclass); the API turns it into JSON naming the field,
the UI into a message next to the field, the CLI into a clean message and an exit code.
"""


class ApplicationError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra or {}

    def as_dict(self) -> dict:
        data: dict = {"message": self.message}
        if self.field:
            data["field"] = self.field
        data.update(self.extra)
        return data


class NotFound(ApplicationError):
    status_code = 404


class PermissionDenied(ApplicationError):
    status_code = 403


class Conflict(ApplicationError):
    """The write would duplicate something unique that already exists (an email, a VAT number)."""

    status_code = 409


class ValidationFailed(ApplicationError):
    """Several field errors at once: `errors` is a list of {"field", "message"}."""

    status_code = 422

    def __init__(self, errors: list[dict]):
        first = errors[0]
        super().__init__(first["message"], field=first.get("field"), extra={"errors": errors})
        self.errors = errors
