from django.urls import include, path

from volano.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("workspace/switch/", views.workspace_switch, name="workspace_switch"),
    path("outbox/", views.outbox, name="outbox"),
    path("team/", views.team, name="team"),
    path("team/<int:user_id>/edit/", views.team_member_edit, name="team_member_edit"),
    path("i18n/", include("django.conf.urls.i18n")),
]
