from django.urls import path

from volano.emails import views

app_name = "emails"

urlpatterns = [
    path("e/o/<str:token>/", views.open_pixel, name="open"),
    path("e/c/<str:token>/", views.click, name="click"),
    path("e/u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("e/u/<str:token>/preferences/", views.preferences, name="preferences"),
]
