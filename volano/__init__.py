"""Volano: an open-source, self-hosted marketing platform for small and medium businesses."""

__version__ = "0.1.0"
