from django.urls import path

from volano.deals import views

app_name = "deals"

urlpatterns = [
    path("deals/", views.board_view, name="board"),
    path("deals/new/", views.deal_create_view, name="new"),
    path("deals/<int:pk>/stage/", views.deal_stage_view, name="stage"),
    path("products/", views.catalogue_view, name="catalogue"),
    path("products/<int:pk>/edit/", views.product_edit_view, name="product_edit"),
    path("products/lines/<slug:slug>/edit/", views.product_line_edit_view, name="line_edit"),
    path("products/lines/<slug:slug>/delete/", views.product_line_delete_view, name="line_delete"),
]
