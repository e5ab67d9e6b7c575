from django.urls import include, path

from volano.core import activity_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("settings/tokens/", views.tokens, name="tokens"),
    path("settings/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("workspace/switch/", views.workspace_switch, name="workspace_switch"),
    path("outbox/", views.outbox, name="outbox"),
    path("team/", views.team, name="team"),
    path("settings/activity/", activity_views.activity, name="activity"),
    path("team/<int:user_id>/edit/", views.team_member_edit, name="team_member_edit"),
    path("i18n/", include("django.conf.urls.i18n")),
]
