from django.urls import path

from volano.maturity import views

app_name = "maturity"

urlpatterns = [
    path("maturity/", views.maturity_page, name="page"),
    path("maturity/take/", views.maturity_take, name="take"),
]
