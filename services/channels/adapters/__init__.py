"""Channel adapters: one module per vendor technology, each with a fake beside it."""

from services.channels.adapters._delivery import is_unavailable
from services.channels.adapters.console import ConsoleAdapter, LetterSink
from services.channels.adapters.failover import FailoverAdapter
from services.channels.adapters.fakes import FakeChannelAdapter
from services.channels.adapters.smtp_email import SmtpEmail
from services.channels.adapters.twilio_sms import TwilioSms
from services.channels.adapters.twilio_voice import TwilioVoice

__all__ = [
    "ConsoleAdapter",
    "FailoverAdapter",
    "FakeChannelAdapter",
    "LetterSink",
    "SmtpEmail",
    "TwilioSms",
    "TwilioVoice",
    "is_unavailable",
]
