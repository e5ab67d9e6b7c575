from volano.core.permissions import capabilities_of


def workspace(request):
    membership = getattr(request, "membership", None)
    return {
        "workspace": getattr(request, "workspace", None),
        "membership": membership,
        "memberships": getattr(request, "memberships", []),
        # what the member's role may do, from volano.core.permissions: {% if can.edit_marketing %}
        "can": capabilities_of(membership),
    }
