"""The organisation's REST service (FastAPI) on top of the Gateway client."""

from gateway.api.app import create_app

__all__ = ["create_app"]
