from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from volano.core.management.base import VolanoCommand, database_require, json_file_read
from volano.core.selectors import workspace_get
from volano.scoring import services


class Command(VolanoCommand):
    help = (
        "Lead scoring: `scoring model save --workspace SLUG --file MODEL.json` creates or "
        "replaces a rules model by slug; `scoring recompute --workspace SLUG` recomputes every "
        "score and runs the threshold rules; `scoring train --workspace SLUG [--json]` trains "
        "the predictive model and scores the open leads."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        model = actions.add_parser("model", help="manage score models")
        model_actions = model.add_subparsers(dest="model_action", required=True)
        save = model_actions.add_parser("save", help="create or replace a model by slug")
        save.add_argument("--workspace", required=True, help="workspace slug")
        save.add_argument("--file", required=True, help="the model's JSON ('-' for stdin)")
        recompute = actions.add_parser("recompute", help="recompute every score now")
        recompute.add_argument("--workspace", required=True, help="workspace slug")
        train = actions.add_parser("train", help="train the predictive model")
        train.add_argument("--workspace", required=True, help="workspace slug")
        train.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        database_require()
        workspace = workspace_get(slug=options["workspace"])
        if action == "model":
            data = json_file_read(options["file"], field="file")
            model = services.score_model_save(workspace=workspace, actor=None, data=data)
            result = services.scores_compute(workspace=workspace, model=model)
            self.stdout.write(
                f"{model.slug}: saved, {result.scored:,} contacts scored"
                f" ({result.changed:,} changed)"
            )
        elif action == "recompute":
            for slug, result in services.scores_recompute(workspace=workspace).items():
                self.stdout.write(
                    f"{slug}: {result.scored:,} contacts scored ({result.changed:,} changed)"
                )
        else:
            from volano.scoring.predictive import predictive_score, predictive_train

            report = predictive_train(workspace=workspace)
            scored = predictive_score(workspace=workspace)
            if options["json"]:
                self.stdout.write(json.dumps({**report, "scored": scored}, default=str))
            else:
                self.stdout.write(
                    f"AUC {report['auc']:.3f} on {report['n_test']:,} held-back contacts"
                    f" (trained on {report['n_train']:,}); {scored:,} open leads scored"
                )
