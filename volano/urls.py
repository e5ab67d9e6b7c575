from django.urls import include, path

from volano.api import api

urlpatterns = [
    path("api/v1/", api.urls),
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
