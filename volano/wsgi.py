import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "volano.settings")
django_application = get_wsgi_application()

# POST /t/collect (website tracking) skips Django's middleware: see collect_fast_path.
from volano.events.views import collect_fast_path  # noqa: E402

application = collect_fast_path(django_application)
