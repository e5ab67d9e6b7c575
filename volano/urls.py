from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from volano.api import api

urlpatterns = [
    # Browsers ask for /favicon.ico whatever a page links: the SVG the base template links.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("core/favicon.svg"))),
    path("api/v1/", api.urls),
    path("", include("volano.ui.urls")),
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
