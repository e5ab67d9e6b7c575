from django.urls import path

from volano.attribution import views

app_name = "attribution"

urlpatterns = [
    path("attribution/", views.attribution_page, name="page"),
]
