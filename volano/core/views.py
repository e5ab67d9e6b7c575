"""The shell: signing in, switching workspace, the overview and the outbox."""

from __future__ import annotations

from dataclasses import asdict
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from volano.core import invitations, throttle
from volano.core.errors import ApplicationError, PermissionDenied, ValidationFailed
from volano.core.forms import (
    EmailAuthenticationForm,
    InvitationForm,
    MembershipForm,
    PersonalPasswordResetForm,
    TokenForm,
    too_many_attempts,
)
from volano.core.mail import outbox_messages
from volano.core.middleware import SESSION_KEY
from volano.core.models import Membership
from volano.core.permissions import Cap, allows, public, requires, signed_in
from volano.core.selectors import membership_access, tokens_visible
from volano.core.services import membership_remove, membership_set, token_create
from volano.core.services import token_revoke as token_revoke_service
from volano.core.view_errors import error_redirect


def forbidden(request: HttpRequest, message: str = "") -> HttpResponse:
    return render(request, "403.html", {"message": message}, status=403)


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


@signed_in
@require_POST
def workspace_switch(request: HttpRequest) -> HttpResponse:
    try:
        workspace_id = int(request.POST.get("workspace", ""))
        membership = membership_access(user=request.user, workspace_id=workspace_id)  # type: ignore[arg-type]
    except (ValueError, PermissionDenied):
        return forbidden(request)
    request.session[SESSION_KEY] = membership.workspace_id
    return redirect("home")


@requires(Cap.VIEW_DATA, write=Cap.MANAGE_WORKSPACE)
def team(request: HttpRequest) -> HttpResponse:
    """Who works in this workspace, with their role and, for sales reps, their territory; an
    administrator invites people here (POST) and sees the invitations still open."""
    workspace = request.workspace  # type: ignore[attr-defined]
    manage = allows(request.membership.role, Cap.MANAGE_WORKSPACE)  # type: ignore[attr-defined]
    form = InvitationForm(request.POST if request.method == "POST" else None) if manage else None
    if form is not None and form.is_bound and form.is_valid():
        try:
            invitation = invitations.invitation_create(
                workspace=workspace,
                actor=request.user,  # type: ignore[arg-type]
                **form.service_data(),
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s: the link works for %(days)d days.")
                % {"email": invitation.email, "days": invitations.INVITATION_DAYS},
            )
            return redirect("team")
    members = (
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .order_by("role", "user__full_name", "user__email")
    )
    now = timezone.now()
    pending = (
        [
            {"invitation": i, "expired": i.expires_at <= now}
            for i in invitations.invitations_pending(workspace=workspace)
        ]
        if manage
        else []
    )
    status = 422 if form is not None and form.is_bound else 200
    return render(
        request,
        "core/team.html",
        {"members": members, "form": form, "pending": pending},
        status=status,
    )


@error_redirect("team")
@requires(Cap.MANAGE_WORKSPACE, write=Cap.MANAGE_WORKSPACE)
def team_member_remove(request: HttpRequest, user_id: int) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    member = Membership.objects.filter(workspace=workspace, user_id=user_id).select_related("user")
    found = member.first()
    if found is None:  # another workspace's member does not exist here, whatever the method
        raise Http404("no such member")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    membership_remove(
        workspace=workspace,
        actor=request.user,  # type: ignore[arg-type]
        user=found.user,
    )
    messages.success(
        request, _("%(name)s no longer works in this workspace.") % {"name": found.user}
    )
    return redirect("team")


def _invitation_or_404(request: HttpRequest, invitation_id: int) -> HttpResponse | None:
    """404 for an invitation this workspace does not have, whatever the method; else 405 for
    anything but POST; None when the POST may go on."""
    pending = invitations.invitations_pending(workspace=request.workspace)  # type: ignore[attr-defined]
    if not pending.filter(pk=invitation_id).exists():
        raise Http404("no such invitation")
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


def _invitation_action(
    request: HttpRequest, invitation_id: int, service, done: str
) -> HttpResponse:
    """Resend or withdraw a pending invitation (POST only), then back to the team page."""
    if refused := _invitation_or_404(request, invitation_id):
        return refused
    invitation = service(
        workspace=request.workspace,  # type: ignore[attr-defined]
        actor=request.user,
        invitation_id=invitation_id,
    )
    messages.success(request, done % {"email": invitation.email})
    return redirect("team")


@error_redirect("team")
@requires(Cap.MANAGE_WORKSPACE, write=Cap.MANAGE_WORKSPACE)
def invitation_resend(request: HttpRequest, invitation_id: int) -> HttpResponse:
    return _invitation_action(
        request,
        invitation_id,
        invitations.invitation_resend,
        _("Invitation sent again to %(email)s; the previous link no longer works."),
    )


@error_redirect("team")
@requires(Cap.MANAGE_WORKSPACE, write=Cap.MANAGE_WORKSPACE)
def invitation_cancel(request: HttpRequest, invitation_id: int) -> HttpResponse:
    return _invitation_action(
        request,
        invitation_id,
        invitations.invitation_cancel,
        _("Invitation to %(email)s withdrawn: its link no longer works."),
    )


@public
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation link: a new person chooses a name and a password; someone who already
    has an account signs in first. Either way they land signed in, in the workspace."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    context: dict = {"errors": {}, "values": {}}
    try:
        invitation = invitations.invitation_open(token=token)
    except ApplicationError as error:
        return render(
            request,
            "core/invitation_accept.html",
            {**context, "refused": error.message},
            status=410,
        )
    registered = invitations.invitation_registered_user(invitation)
    user = request.user if request.user.is_authenticated else None
    context.update(
        invitation=invitation,
        registered=registered is not None,
        signed_in_as_invited=registered is not None
        and user is not None
        and user.pk == registered.pk,
    )
    status = 200
    if request.method == "POST":
        context["values"] = {"full_name": request.POST.get("full_name", "")}
        try:
            invitation, account = invitations.invitation_accept(
                token=token,
                user=user,  # type: ignore[arg-type]
                full_name=request.POST.get("full_name", ""),
                password=request.POST.get("password", ""),
                password_again=request.POST.get("password_again", ""),
            )
        except ValidationFailed as error:
            for item in error.errors:
                context["errors"].setdefault(item.get("field") or "general", []).append(
                    item["message"]
                )
            status = 422
        except ApplicationError as error:
            context["errors"]["general"] = [error.message]
            status = 422
        else:
            if user is None:
                auth_login(request, account, backend="django.contrib.auth.backends.ModelBackend")
            request.session[SESSION_KEY] = invitation.workspace_id
            messages.success(
                request,
                _("Welcome to %(workspace)s.") % {"workspace": invitation.workspace.name},
            )
            return redirect("home")
    response = render(request, "core/invitation_accept.html", context, status=status)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@requires(Cap.MANAGE_WORKSPACE, write=Cap.MANAGE_WORKSPACE)
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
        try:
            membership_set(workspace=workspace, user=member.user, **form.service_data())
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


@requires(Cap.READ_OUTBOX)
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


@requires(Cap.OWN_ACCOUNT, write=Cap.OWN_ACCOUNT)
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


@requires(Cap.OWN_ACCOUNT, write=Cap.OWN_ACCOUNT)
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
