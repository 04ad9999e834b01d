"""The organisation's REST service (FastAPI) on top of the Gateway client."""

from restapi.app import create_app

__all__ = ["create_app"]
