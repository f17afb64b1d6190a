"""Python SDK for the context API of the AGB cloud."""

__version__ = "0.1.0"
