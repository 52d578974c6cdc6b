"""The inbound gateway: vendor webhooks (receipts, dispositions, inbound SMS) -> outcome messages."""

from services.gateway.app import MAX_BODY_BYTES, create_gateway_app
from services.gateway.directory import Directory, InMemoryDirectory

__all__ = ["MAX_BODY_BYTES", "Directory", "InMemoryDirectory", "create_gateway_app"]
