"""mailaudit: find and audit mail servers."""

__version__ = "0.1.0"
