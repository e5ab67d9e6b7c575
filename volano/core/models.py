from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volano.core.tenancy import WorkspaceScopedModel


class Workspace(models.Model):
    """One client company. An install holds many; no business row crosses between them."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    language = models.CharField(_("language"), max_length=8, default="it")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Rome")
    tracking_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in. Belongs to workspaces through memberships, with a role in each."""

    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    def __str__(self) -> str:
        return self.full_name or self.email


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    MARKETER = "marketer", _("Marketer")
    SALES = "sales", _("Sales rep")
    VIEWER = "viewer", _("Viewer")


class Membership(models.Model):
    """A user's role in a workspace; a sales rep's territories and product lines live here too."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    regions = models.JSONField(_("regions"), default=list, blank=True)
    provinces = models.JSONField(_("provinces"), default=list, blank=True)
    product_lines = models.JSONField(_("product lines"), default=list, blank=True)
    # For the hand-off to sales: how many open leads a rep takes at most, and when they are away.
    lead_capacity = models.PositiveIntegerField(_("open leads at most"), null=True, blank=True)
    away_from = models.DateField(_("away from"), null=True, blank=True)
    away_until = models.DateField(_("away until"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.workspace} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role != Role.VIEWER

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class ApiToken(models.Model):
    """A bearer token for one workspace. Only its SHA-256 is stored; the token is shown once.

    A token opens the API until it is revoked or `expires_at` passes (none: it never expires)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.workspace.slug})"

    def is_active_at(self, moment) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > moment)

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()


class OutboxStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ReactionOutbox(models.Model):
    """A fact whose after-commit reactions are still to run (see `volano.core.reactions`).

    Written in the writer's transaction. `claimed_at`: when the row was last dispatched (while
    pending) or taken by a task (while running); the sweeper dispatches a row again when that
    is too long ago. Not workspace-scoped: the payload names its workspace, and only the
    reactions machinery reads these rows."""

    fact_type = models.CharField(max_length=60)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "claimed_at"], name="reaction_outbox_status")]

    def __str__(self) -> str:
        return f"{self.fact_type} #{self.pk} ({self.status})"


class Invitation(models.Model):
    """An administrator's invitation of an email address to a workspace, with the role (and a
    rep's territory) the person will get. The link carries a signed, single-use token; only the
    SHA-256 of its secret part is stored, and resending makes a new one (the old link dies)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    regions = models.JSONField(_("regions"), default=list, blank=True)
    provinces = models.JSONField(_("provinces"), default=list, blank=True)
    product_lines = models.JSONField(_("product lines"), default=list, blank=True)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["workspace", "email"], name="invitation_ws_email")]

    def __str__(self) -> str:
        return f"{self.email} → {self.workspace.slug} ({self.role})"

    def is_pending_at(self, moment) -> bool:
        return self.accepted_at is None and self.cancelled_at is None and self.expires_at > moment


class ActorKind(models.TextChoices):
    USER = "user", _("user")
    TOKEN = "token", _("API token")
    SYSTEM = "system", _("system")


VERB_LABELS = {
    "reports.value_model_fit": _("fitted the customer value model"),
    "maturity.assessment_take": _("took the digital-maturity self-assessment"),
    "reports.stakeholder_keep": _("kept a stakeholder report"),
    "reports.schedule_save": _("scheduled the stakeholder report"),
    "reports.schedule_delete": _("deleted a stakeholder report schedule"),
    "reports.churn_risk_mark": _("marked the customers at risk of churn"),
    "survey.create": _("created a survey"),
    "survey.update": _("changed a survey"),
    "survey.send": _("sent a survey"),
    "survey.answer": _("answered a survey"),
    "reports.dashboard_save": _("saved a dashboard"),
    "reports.dashboard_delete": _("deleted a dashboard"),
    "reports.health_weights_save": _("changed the account health weights"),
    "contact.create": _("created the contact"),
    "contact.update": _("changed the contact"),
    "contact.delete": _("deleted a contact"),
    "contact.merge": _("merged contacts"),
    "contacts.owner_set": _("changed the owner of contacts"),
    "company.create": _("created the company"),
    "company.update": _("changed the company"),
    "company.delete": _("deleted a company"),
    "consent.set": _("recorded a consent decision"),
    "stage.set": _("changed the lifecycle stage"),
    "stages.move": _("moved contacts to a stage"),
    "deal.create": _("opened a deal"),
    "deal.update": _("changed a deal"),
    "deal.move": _("moved a deal to another stage"),
    "deal.delete": _("deleted a deal"),
    "threshold_rule.save": _("saved a stage rule"),
    "threshold_rule.delete": _("deleted a stage rule"),
    "score_model.save": _("saved a score model"),
    "score_model.delete": _("deleted a score model"),
    "segment.save": _("saved a segment"),
    "segment.delete": _("deleted a segment"),
    "assignment.create": _("assigned a lead"),
    "assignment.expire": _("let a lead expire with nobody to take it"),
    "assignment.accept": _("accepted a lead"),
    "assignment.reject": _("rejected a lead"),
    "assignment_rule.save": _("saved a lead assignment rule"),
    "assignment_rule.delete": _("deleted a lead assignment rule"),
    "handoff_settings.save": _("changed the hand-off settings"),
    "order.create": _("recorded an order"),
    "list.create": _("created a list"),
    "list.update": _("changed a list"),
    "list.delete": _("deleted a list"),
    "list.add": _("added contacts to a list"),
    "token.create": _("created an API token"),
    "membership.remove": _("removed a member"),
    "token.revoke": _("revoked an API token"),
    "stage.rename": _("renamed a lifecycle stage"),
    "product_line.save": _("saved a product line"),
    "product_line.delete": _("deleted a product line"),
    "product.save": _("saved a product"),
    "list.remove": _("removed contacts from a list"),
    "import.contacts": _("imported contacts"),
    "import.companies": _("imported companies"),
    "import.orders": _("imported orders"),
    "email_template.created": _("created an email template"),
    "email_template.updated": _("changed an email template"),
    "email_template.deleted": _("deleted an email template"),
    "email_template.test_sent": _("sent a test of an email template"),
    "broadcast.create": _("created a broadcast"),
    "broadcast.update": _("changed a broadcast"),
    "broadcast.schedule": _("scheduled a broadcast"),
    "broadcast.schedule_failed": _("a scheduled broadcast could not start"),
    "broadcast.send": _("sent a broadcast"),
    "broadcast.winner": _("chose the winner of a broadcast's A/B test"),
    "broadcast.cancel": _("cancelled a broadcast"),
    "mailing.create": _("created a mailing"),
    "mailing.send": _("started sending a mailing"),
    "mailing.cancel": _("cancelled a mailing"),
    "mailing.add_audience": _("added recipients to a mailing"),
    "budgets.model_fitted": _("fitted a response model"),
    "goals.goal_created": _("set a goal"),
    "goals.goal_updated": _("changed a goal"),
    "goals.goal_deleted": _("deleted a goal"),
    "budgets.plan_created": _("made a budget plan"),
    "budgets.plan_changed": _("changed a budget plan"),
    "budgets.plan_deleted": _("deleted a budget plan"),
    "budgets.plan_line_added": _("added a line to a budget plan"),
    "budgets.plan_line_changed": _("changed a line of a budget plan"),
    "budgets.plan_line_removed": _("removed a line from a budget plan"),
    "budgets.plan_rebalanced": _("rebalanced a budget plan toward 70/20/10"),
    "budgets.plan_reviewed": _("reviewed a budget plan"),
    "budgets.time_logged": _("logged hours"),
    "budgets.time_log_removed": _("removed logged hours"),
    "campaign.created": _("created a campaign"),
    "campaign.updated": _("changed a campaign"),
    "campaign.archived": _("archived a campaign"),
    "campaign.restored": _("restored a campaign"),
    "costs.imported": _("imported costs"),
    "cost.created": _("entered a cost"),
    "cost.updated": _("changed a cost"),
    "cost.deleted": _("deleted a cost"),
    "content.created": _("created a content asset"),
    "content.updated": _("changed a content asset"),
    "content.archived": _("archived a content asset"),
    "channel_rules.replaced": _("changed the channel rules"),
    "workflow.create": _("created a workflow"),
    "workflow.update": _("changed a workflow"),
    "workflow.publish": _("published a workflow"),
    "workflow.pause": _("paused a workflow"),
    "workflow.enrol": _("enrolled contacts in a workflow"),
    "workflow.step": _("ran a workflow step"),
    "workflow.update_property": _("updated a field from a workflow"),
    "workflow.task_done": _("marked a workflow task done"),
    "workflow.create_from_template": _("created a workflow from a template"),
    "email_policy.save": _("changed the email sending policy"),
}


# What the activity pages call the keys of `Activity.changes` (a key not listed shows as
# stored); values True/False read yes/no.
CHANGE_LABELS = {
    "slug": _("identifier"),
    "name": _("name"),
    "status": _("status"),
    "stage": _("stage"),
    "prefix": _("token prefix"),
    "contacts": _("contacts"),
    "user": _("user"),
    "total": _("total"),
    "to": _("to"),
    "source": _("source"),
    "rules": _("rules"),
    "rep": _("sales rep"),
    "renderer": _("content"),
    "recipients": _("recipients"),
    "reason": _("reason"),
    "purpose": _("purpose"),
    "owner_id": _("owner"),
    "number": _("number"),
    "list": _("list"),
    "lines": _("lines"),
    "kind": _("kind"),
    "fields_taken": _("fields taken"),
    "errors": _("errors"),
    "duplicate_id": _("merged duplicate"),
    "active": _("active"),
    "email": _("email"),
    "first_name": _("first name"),
    "last_name": _("last name"),
    "phone": _("phone"),
    "company": _("company"),
    "owner": _("owner"),
    "role": _("role"),
}


def _change_value(value) -> str:
    if value in (None, "", []):
        return "—"
    if value is True:
        return str(_("yes"))
    if value is False:
        return str(_("no"))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


class Activity(WorkspaceScopedModel):
    """One change of business data: who did it (a user, a user through an API token, or the
    system), what (`verb`, e.g. "consent.set"), to which object, and which fields went from what
    to what. Written by `volano.core.activity.activity_record` in the service's transaction, so
    a change and its record commit or roll back together. A bulk operation writes one row with
    its counts. `contact_id` (no foreign key: any domain records here) is set when the change
    is about one contact, for the contact page's "Changes"; `actor_label` keeps the name when
    the user is later deleted."""

    actor_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_label = models.CharField(max_length=254, blank=True)
    verb = models.CharField(max_length=60)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    contact_id = models.BigIntegerField(null=True, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["workspace", "created_at"], name="activity_ws_created"),
            models.Index(
                fields=["workspace", "contact_id", "created_at"], name="activity_ws_contact"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.verb} by {self.actor_label or self.actor_kind}"

    @property
    def verb_label(self) -> str:
        return str(VERB_LABELS.get(self.verb, self.verb))

    @property
    def changes_lines(self) -> list[str]:
        """The changes as short lines, "field: old → new", for the pages, each field by its
        label in the user's language (CHANGE_LABELS)."""
        lines = []
        for key, value in (self.changes or {}).items():
            label = str(CHANGE_LABELS.get(key, key))
            if isinstance(value, list) and len(value) == 2:
                old, new = (_change_value(v) for v in value)
                lines.append(f"{label}: {old} → {new}")
            else:
                lines.append(f"{label}: {_change_value(value)}")
        return lines
