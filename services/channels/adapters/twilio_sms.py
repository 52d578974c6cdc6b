"""SMS through a Twilio-compatible REST API (``POST .../Messages.json``)."""

from __future__ import annotations

from contracts.tasks import SendSms, Task
from contracts.values import Channel
from services.channels.adapters._twilio import TwilioRestAdapter

__all__ = ["TwilioSms"]


class TwilioSms(TwilioRestAdapter):
    """Sends :class:`SendSms` tasks. See :class:`TwilioRestAdapter` for the constructor."""

    _channel = Channel.SMS
    _collection = "Messages"

    def _form(self, task: Task) -> dict[str, str] | None:
        if not isinstance(task, SendSms):
            return None
        return {
            "To": task.to,
            "From": self._from,
            "Body": task.body,
            "StatusCallback": self.status_callback(task),
        }
