from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "volano.segments"
    label = "segments"
