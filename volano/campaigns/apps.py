from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "volano.campaigns"
    label = "campaigns"

    def ready(self) -> None:
        from volano.campaigns.costs.parsers import PLATFORMS
        from volano.campaigns.costs.services import costs_import
        from volano.imports.kinds import FileKind, file_kind_register

        file_kind_register(
            FileKind(
                name="costs",
                help="ad-platform cost reports (Google Ads, Meta, LinkedIn, GA4, generic)",
                run=costs_import,
                platforms=PLATFORMS,
            )
        )
