"""The terminal's side of the acquirer leg: its ISO 8583 messages (:mod:`.messages`, no I/O),
its durable store-and-forward queue (:mod:`.outbox`) and the client that takes the built-in
authorizer's place (:mod:`.client`)."""

from __future__ import annotations

from .client import AcquirerClient, AcquirerCounters, parse_acquirer_url
from .messages import Identity

__all__ = ["AcquirerClient", "AcquirerCounters", "Identity", "parse_acquirer_url"]
