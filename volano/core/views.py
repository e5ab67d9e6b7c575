"""The shell: signing in, switching workspace, the overview and the outbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from email.utils import parsedate_to_datetime
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from volano.core import throttle
from volano.core.errors import ApplicationError, PermissionDenied
from volano.core.forms import (
    EmailAuthenticationForm,
    MembershipForm,
    PersonalPasswordResetForm,
    TokenForm,
    too_many_attempts,
)
from volano.core.mail import outbox_messages
from volano.core.middleware import SESSION_KEY
from volano.core.models import Membership, Role
from volano.core.selectors import membership_access, tokens_visible
from volano.core.services import membership_set, token_create
from volano.core.services import token_revoke as token_revoke_service

View = Callable[..., HttpResponse]


def workspace_required(view: View) -> View:
    """Signed in and with a current workspace; a user without any gets a page that says so."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if getattr(request, "workspace", None) is None:
            return render(request, "core/no_workspace.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def forbidden(request: HttpRequest, message: str = "") -> HttpResponse:
    return render(request, "403.html", {"message": message}, status=403)


def write_required(view: View) -> View:
    """Like workspace_required, and the user's role may change data (viewers get 403)."""

    @workspace_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.membership.can_write:  # type: ignore[attr-defined]
            return forbidden(request)
        return view(request, *args, **kwargs)

    return wrapper


def roles_required(*roles: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @workspace_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.membership.role not in roles:  # type: ignore[attr-defined]
                return forbidden(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Asks for an email address and, if an active user has it, mails a one-time link.

    The reply is the same whether or not the address has an account. Requests are counted per
    address (past the limit: a "try again in N minutes" page) and per email address (past the
    limit: the same reply, and no mail), so the form can neither flood an inbox nor be used to
    tell which addresses exist."""

    template_name = "core/password_reset_form.html"
    form_class = PersonalPasswordResetForm
    email_template_name = "core/password_reset_email.txt"
    subject_template_name = "core/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        address = throttle.client_address(self.request)
        if wait := throttle.retry_after(throttle.RESET_PER_ADDRESS, address):
            form.add_error(None, too_many_attempts(wait))
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        throttle.hit(throttle.RESET_PER_ADDRESS, address)
        email = form.cleaned_data["email"].strip().lower()
        if throttle.retry_after(throttle.RESET_PER_ACCOUNT, email):
            return redirect(self.get_success_url())
        throttle.hit(throttle.RESET_PER_ACCOUNT, email)
        self.extra_email_context = {"base_url": settings.VOLANO_BASE_URL.rstrip("/")}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "core/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "core/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        # the owner proved they hold the mailbox: their failed sign-ins no longer count
        throttle.clear(throttle.LOGIN_PER_ACCOUNT, form.user.email.lower())
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "core/password_reset_complete.html"


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "core/password_change.html"
    success_url = reverse_lazy("password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "core/password_change_done.html"


@login_required
@require_POST
def workspace_switch(request: HttpRequest) -> HttpResponse:
    try:
        workspace_id = int(request.POST.get("workspace", ""))
        membership = membership_access(user=request.user, workspace_id=workspace_id)  # type: ignore[arg-type]
    except (ValueError, PermissionDenied):
        return forbidden(request)
    request.session[SESSION_KEY] = membership.workspace_id
    return redirect("home")


@workspace_required
def team(request: HttpRequest) -> HttpResponse:
    """Who works in this workspace, with their role and, for sales reps, their territory."""
    workspace = request.workspace  # type: ignore[attr-defined]
    members = (
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .order_by("role", "user__full_name", "user__email")
    )
    return render(request, "core/team.html", {"members": members})


@roles_required(Role.ADMIN)
def team_member_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    member = (
        Membership.objects.filter(workspace=workspace, user_id=user_id)
        .select_related("user")
        .first()
    )
    if member is None:
        raise Http404("no such member")
    initial = {
        "role": member.role,
        "regions": member.regions,
        "provinces": ", ".join(member.provinces),
        "product_lines": ", ".join(member.product_lines),
    }
    form = MembershipForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_bound and form.is_valid():
        data = form.service_data()
        last_admin = (
            member.role == Role.ADMIN
            and data["role"] != Role.ADMIN
            and Membership.objects.filter(workspace=workspace, role=Role.ADMIN).count() == 1
        )
        if last_admin:
            form.add_error("role", _("The workspace needs at least one administrator."))
        else:
            try:
                membership_set(workspace=workspace, user=member.user, **data)
            except ApplicationError as error:
                field = error.field if error.field in form.fields else None
                form.add_error(field, error.message)
            else:
                messages.success(
                    request, _("%(name)s's role and territory saved.") % {"name": member.user}
                )
                return redirect("team")
    status = 422 if form.is_bound else 200
    return render(request, "core/team_edit.html", {"member": member, "form": form}, status=status)


@roles_required(Role.ADMIN, Role.MARKETER)
def outbox(request: HttpRequest) -> HttpResponse:
    sent = []
    workspace = request.workspace  # type: ignore[attr-defined]
    for message in outbox_messages(workspace=workspace, limit=200):
        try:
            sent_at = parsedate_to_datetime(message.date) if message.date else None
        except (TypeError, ValueError):
            sent_at = None
        sent.append({**asdict(message), "sent_at": sent_at})
    return render(request, "core/outbox.html", {"messages_sent": sent})


@workspace_required
def tokens(request: HttpRequest) -> HttpResponse:
    """The API tokens of this workspace the user may manage (an administrator: all of them);
    a new token's value is shown on this one reply and never again."""
    workspace = request.workspace  # type: ignore[attr-defined]
    form = TokenForm(request.POST if request.method == "POST" else None)
    created = None
    if form.is_bound and form.is_valid():
        try:
            token, raw = token_create(
                workspace=workspace,
                user=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
                expires_days=form.cleaned_data["expires_days"],
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            created = {"token": token, "raw": raw}
            form = TokenForm()
    now = timezone.now()
    rows = [
        {"token": t, "active": t.is_active_at(now), "expired": t.expires_at and t.expires_at <= now}
        for t in tokens_visible(workspace=workspace, user=request.user)  # type: ignore[arg-type]
    ]
    status = 422 if form.is_bound and form.errors else 200
    response = render(
        request,
        "core/tokens.html",
        {"form": form, "rows": rows, "created": created},
        status=status,
    )
    if created:
        response["Cache-Control"] = "no-store"
    return response


@workspace_required
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    # another's token (or another workspace's) does not exist for this user, whatever the method
    visible = tokens_visible(workspace=workspace, user=request.user)  # type: ignore[arg-type]
    if not visible.filter(pk=token_id).exists():
        raise Http404("no such token")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    token = token_revoke_service(
        workspace=workspace,
        actor=request.user,  # type: ignore[arg-type]
        token_id=token_id,
    )
    messages.success(request, _("Token %(prefix)s… revoked.") % {"prefix": token.prefix})
    return redirect("tokens")
