import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "volano.settings")
django_application = get_wsgi_application()

# POST /t/collect (website tracking) skips Django's middleware: see collect_fast_path.
from volano.events.views import collect_fast_path  # noqa: E402

application = collect_fast_path(django_application)

# Each web worker loads the URLconf (every domain's views and the API's schemas: ~5 s) before it
# serves, not on its first request: a visitor's first page was 5–6 s per worker.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018
