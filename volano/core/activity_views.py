"""Settings → Activity: the workspace's audit trail, newest first, filtered by verb and actor."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from volano.core.activity import activity_list
from volano.core.models import VERB_LABELS, Membership
from volano.core.permissions import Cap, requires

PAGE_SIZE = 50


@requires(Cap.MANAGE_WORKSPACE)
def activity(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    verb = request.GET.get("verb", "").strip()
    actor = request.GET.get("actor", "").strip()
    actor_id = int(actor) if actor.isdigit() else None
    members = list(
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    rows = activity_list(workspace=workspace, verb=verb, actor_id=actor_id)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in (("verb", verb), ("actor", actor)) if v})
    return render(
        request,
        "core/activity.html",
        {
            "page": page,
            "verbs": sorted(VERB_LABELS.items(), key=lambda item: str(item[1])),
            "members": members,
            "verb": verb,
            "actor_id": actor_id,
            "query": query,
        },
    )
