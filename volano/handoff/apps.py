from django.apps import AppConfig


class HandoffConfig(AppConfig):
    name = "volano.handoff"
    label = "handoff"

    def ready(self) -> None:
        # The funnel report (lifecycle, below hand-off) shows hand-off's figures from here.
        from volano.handoff.selectors import handoff_report
        from volano.lifecycle.report import report_section_register

        report_section_register("handoff", handoff_report)
