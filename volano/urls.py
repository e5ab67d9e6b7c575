from django.urls import include, path, re_path

from volano.api import api, unknown_route

urlpatterns = [
    path("api/v1/", api.urls),
    re_path(r"^api/v1/(?P<rest>.*)$", unknown_route),
    path("", include("volano.core.urls")),
    path("", include("volano.contacts.urls")),
    path("", include("volano.events.urls")),
    path("", include("volano.imports.urls")),
    path("", include("volano.segments.urls")),
    path("", include("volano.deals.urls")),
    path("", include("volano.scoring.urls")),
    path("", include("volano.lifecycle.urls")),
    path("", include("volano.handoff.urls")),
]
