"""The sending core: other domains (broadcasts, workflows) call `mailing_create` and
`mailing_send` (services.py); the worker claims and sends (worker.py)."""
