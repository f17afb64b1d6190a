"""Exceptions. API failures come back as results; these are for misuse."""

from __future__ import annotations


class AgbContextError(Exception):
    """Base class of the exceptions this package raises."""


class ConfigurationError(AgbContextError, ValueError):
    """The client cannot be built as asked: no API key, a bad endpoint or timeout."""
