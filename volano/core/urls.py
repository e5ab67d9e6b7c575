from django.urls import include, path

from volano.core import activity_views, views
from volano.core.permissions import public, signed_in

urlpatterns = [
    path("login/", public(views.LoginView.as_view()), name="login"),
    path("logout/", public(views.LogoutView.as_view()), name="logout"),
    path("password/", signed_in(views.PasswordChangeView.as_view()), name="password_change"),
    path(
        "password/done/",
        signed_in(views.PasswordChangeDoneView.as_view()),
        name="password_change_done",
    ),
    path("password/reset/", public(views.PasswordResetView.as_view()), name="password_reset"),
    path(
        "password/reset/sent/",
        public(views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        public(views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        public(views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
    path("settings/tokens/", views.tokens, name="tokens"),
    path("settings/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("workspace/switch/", views.workspace_switch, name="workspace_switch"),
    path("outbox/", views.outbox, name="outbox"),
    path("team/", views.team, name="team"),
    path("settings/activity/", activity_views.activity, name="activity"),
    path("team/<int:user_id>/edit/", views.team_member_edit, name="team_member_edit"),
    path("team/<int:user_id>/remove/", views.team_member_remove, name="team_member_remove"),
    path(
        "team/invitations/<int:invitation_id>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "team/invitations/<int:invitation_id>/cancel/",
        views.invitation_cancel,
        name="invitation_cancel",
    ),
    path("invite/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("i18n/", include("django.conf.urls.i18n")),
]
