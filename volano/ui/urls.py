from django.urls import path

from volano.ui import views

urlpatterns = [
    path("", views.home, name="home"),
]
