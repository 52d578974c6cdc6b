"""Development sinks that write JSON lines to a file instead of contacting anyone.

Each line is one accepted attempt. Recipients are written as a short hash unless
``include_recipient`` is set: these files get pasted into tickets (P7).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.outcomes import OutcomeKind
from contracts.tasks import PlaceCall, SendEmail, SendLetter, SendSms, Task
from contracts.values import Channel
from services.channels.ports import SendResult

__all__ = ["ConsoleAdapter", "LetterSink"]


class _JsonLines:
    """Append-only JSON-lines file that remembers which attempt ids it already holds, across
    restarts too, so a redelivered task is not written twice (P2, like a vendor would)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._seen: set[str] = set()
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._seen.add(str(json.loads(line).get("attempt_id", "")))

    def append(self, record: Mapping[str, Any]) -> bool:
        """Write ``record`` unless its attempt id is already in the file; True if written."""
        attempt_id = str(record["attempt_id"])
        if attempt_id in self._seen:
            return False
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        self._seen.add(attempt_id)
        return True


def _recipient(task: Task) -> str:
    # A letter's address is structured; every other destination is a number or an email address.
    return task.to if isinstance(task.to, str) else task.to.model_dump_json()


def _recipient_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


class ConsoleAdapter:
    """A :class:`ChannelAdapter` for any channel that appends each task to a JSON-lines file."""

    def __init__(
        self,
        *,
        channel: Channel,
        path: Path | str,
        vendor: str = "console",
        include_recipient: bool = False,
    ) -> None:
        self._channel = channel
        self._vendor = vendor
        self._file = _JsonLines(path)
        self._include_recipient = include_recipient

    @property
    def channel(self) -> Channel:
        return self._channel

    @property
    def vendor(self) -> str:
        return self._vendor

    async def send(self, task: Task) -> SendResult:
        record: dict[str, Any] = {
            "attempt_id": task.attempt_id,
            "channel": self._channel.value,
            "type": task.TYPE,
            "party_id": task.party_id,
            "loan_id": task.loan_id,
            "purpose": task.purpose.value,
            "written_at": datetime.now(UTC).isoformat(),
            "to_hash": _recipient_hash(_recipient(task)),
        }
        if self._include_recipient:
            record["to"] = _recipient(task)
        if isinstance(task, SendSms):
            record["body"] = task.body
        elif isinstance(task, SendEmail):
            record |= {"subject": task.subject, "body": task.body}
        elif isinstance(task, PlaceCall):
            record["voicemail"] = task.voicemail
        written = self._file.append(record)
        detail = "" if written else "duplicate attempt ignored"
        return SendResult(
            self._vendor, OutcomeKind.ACCEPTED, external_id=task.attempt_id, detail=detail
        )

    async def aclose(self) -> None:
        """Nothing held open: every send opens and closes the file."""


class LetterSink:
    """The LETTER channel: one JSON line per letter for a print-and-mail house's batch intake.

    Unlike the console files this one carries the name and postal address in full: printing
    and mailing them is the vendor's job. A redelivered task is not written twice (P2).
    """

    def __init__(self, path: Path | str, *, vendor: str = "letter-file") -> None:
        self._vendor = vendor
        self._file = _JsonLines(path)

    @property
    def channel(self) -> Channel:
        return Channel.LETTER

    @property
    def vendor(self) -> str:
        return self._vendor

    async def send(self, task: Task) -> SendResult:
        if not isinstance(task, SendLetter):
            return SendResult(self._vendor, OutcomeKind.FAILED, detail=f"not a letter: {task.TYPE}")
        record = {
            "attempt_id": task.attempt_id,
            "channel": Channel.LETTER.value,
            "language": task.language,
            "recipient": task.recipient,
            "address": task.to.model_dump(mode="json"),
            "subject": task.subject,
            "body": task.body,
        }
        written = self._file.append(record)
        detail = "" if written else "duplicate attempt ignored"
        return SendResult(
            self._vendor, OutcomeKind.ACCEPTED, external_id=task.attempt_id, detail=detail
        )

    async def aclose(self) -> None:
        """Nothing held open: every send opens and closes the file."""
