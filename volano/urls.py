from django.templatetags.static import static
from django.urls import include, path, re_path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from volano.api import api, unknown_route
from volano.core.permissions import public

urlpatterns = [
    # Browsers ask for /favicon.ico whatever a page links: the SVG the base template links.
    path(
        "favicon.ico",
        public(RedirectView.as_view(url=lazy(static, str)("core/favicon.svg"))),
        name="favicon",
    ),
    path("api/v1/", api.urls),
    re_path(r"^api/v1/(?P<rest>.*)$", public(unknown_route), name="api_unknown_route"),
    path("", include("volano.ui.urls")),
    path("", include("volano.core.urls")),
    path("", include("volano.ui.contacts.urls")),
    path("", include("volano.events.urls")),
    path("", include("volano.imports.urls")),
    path("", include("volano.segments.urls")),
    path("", include("volano.deals.urls")),
    path("", include("volano.ui.scoring.urls")),
    path("", include("volano.lifecycle.urls")),
    path("", include("volano.handoff.urls")),
    path("", include("volano.campaigns.urls")),
    path("", include("volano.budgets.urls")),
    path("", include("volano.goals.urls")),
    path("", include("volano.attribution.urls")),
    path("", include("volano.emails.urls")),
    path("", include("volano.notifications.urls")),
    path("", include("volano.surveys.urls")),
    path("", include("volano.workflows.urls")),
    path("", include("volano.reports.urls")),
    path("", include("volano.maturity.urls")),
]
