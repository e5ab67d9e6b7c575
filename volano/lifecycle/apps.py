from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "volano.lifecycle"
    label = "lifecycle"

    def ready(self) -> None:
        # The condition language says a stage by the workspace's name for it (it cannot import
        # lifecycle).
        from volano.conditions.sources import names_source_register
        from volano.lifecycle import timeline
        from volano.lifecycle.selectors import stage_names, stage_outcomes_sql
        from volano.scoring.outcomes import outcome_source_register

        names_source_register("stages", lambda workspace: stage_names(workspace=workspace))
        # The predictive model learns from the first change to an outcome stage (scoring sits
        # below lifecycle and cannot read its history itself).
        outcome_source_register("lifecycle", stage_outcomes_sql)
        timeline.register()  # a stage change on the timeline, in lifecycle's words
