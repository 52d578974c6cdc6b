"""Outbound calls through a Twilio-compatible REST API (``POST .../Calls.json``).

The call plays the task's limited-content voicemail text (Reg F RF-18) with answering-machine
detection; what happened comes back later as a status callback to the gateway.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from contracts.tasks import PlaceCall, Task
from contracts.values import Channel
from services.channels.adapters._twilio import TwilioRestAdapter

__all__ = ["TwilioVoice", "twiml_for"]

_VOICE_LANGUAGE = {"en": "en-US", "zh-CN": "zh-CN"}


def twiml_for(task: PlaceCall) -> str:
    """The TwiML that speaks the voicemail text; the text is XML-escaped, never interpreted."""
    language = quoteattr(_VOICE_LANGUAGE.get(task.language, "en-US"))
    return f"<Response><Say language={language}>{escape(task.voicemail)}</Say></Response>"


class TwilioVoice(TwilioRestAdapter):
    """Places :class:`PlaceCall` tasks. See :class:`TwilioRestAdapter` for the constructor."""

    _channel = Channel.CALL
    _collection = "Calls"

    def _form(self, task: Task) -> dict[str, str] | None:
        if not isinstance(task, PlaceCall):
            return None
        return {
            "To": task.to,
            "From": self._from,
            "Twiml": twiml_for(task),
            "StatusCallback": self.status_callback(task),
            "MachineDetection": "DetectMessageEnd",
        }
