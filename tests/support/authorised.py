"""Ledger entries that authorise tasks, for tests that hand tasks to a channel worker.

A worker sends only a task the ledger holds with its authorising decision, to a person and
address the ledger knows (P1), and the orchestrator writes those entries before the task. Tests
that make tasks by hand have the worker read what the orchestrator would have written first.
"""

from __future__ import annotations

from datetime import datetime

from contracts import Message
from contracts.decisions import ContactDecided, Evidence, Verdict, Window
from contracts.ledger import LedgerEntry
from contracts.tasks import CHANNEL_OF, PlaceCall, SendEmail, SendLetter, SendSms, Task
from contracts.upstream import BorrowerProfiled, PartyLinked
from contracts.values import Email, PartyRole, Phone
from events.envelope import derive_id, wrap
from services.channels.engine import Dispatcher


def authorise(d: Dispatcher, *tasks: Task, borrower_id: str, partition: int = 0) -> None:
    """Have ``d`` read the entries the orchestrator writes before ``tasks``: each task's person
    with its number or mailbox (added to what the worker knows of them), then the authorised
    decision each task follows, with the task."""
    for task in tasks:
        if isinstance(task, SendLetter):
            continue  # a letter goes to the person's postal address: tests give none
        state = d.states[partition].borrowers.get(borrower_id)
        party = state.parties.get(task.party_id) if state is not None else None
        known = (party.phones, party.emails) if party is not None else ((), ())
        d.restore_ledger(partition, _profile(borrower_id, task, *_adding(task, *known)))
    d.restore_ledger(partition, authorising_entry(*tasks, borrower_id=borrower_id))


def ledger_before(*tasks: Task, borrower_id: str) -> list[bytes]:
    """The entries the orchestrator writes to the ledger before ``tasks``, for a worker that
    reads them from the broker: each task's person with its number or mailbox, then the
    authorised decisions and the tasks."""
    contacts: dict[str, tuple[Task, tuple[Phone, ...], tuple[Email, ...]]] = {}
    for task in tasks:
        if isinstance(task, SendLetter):
            continue
        _, phones, emails = contacts.get(task.party_id, (task, (), ()))
        contacts[task.party_id] = (task, *_adding(task, phones, emails))
    return [
        *(_profile(borrower_id, *known) for known in contacts.values()),
        authorising_entry(*tasks, borrower_id=borrower_id),
    ]


def _adding(
    task: SendSms | SendEmail | PlaceCall, phones: tuple[Phone, ...], emails: tuple[Email, ...]
) -> tuple[tuple[Phone, ...], tuple[Email, ...]]:
    """A person's numbers and mailboxes with the task's destination added."""
    if isinstance(task, SendEmail):
        return phones, (*emails, Email(address=task.to))
    return (*phones, Phone(number=task.to)), emails


def _profile(
    borrower_id: str, task: Task, phones: tuple[Phone, ...], emails: tuple[Email, ...]
) -> bytes:
    known: Message
    if task.party_id == borrower_id:
        known = BorrowerProfiled(party_id=task.party_id, name="T", phones=phones, emails=emails)
    else:
        known = PartyLinked(
            loan_id=task.loan_id,
            party_id=task.party_id,
            role=PartyRole.CONTACT_PERSON,
            name="T",
            phones=phones,
            emails=emails,
        )
    return _entry(borrower_id, task.authorised_at, known, (), f"profile {task.attempt_id}")


def authorising_entry(*tasks: Task, borrower_id: str, now: datetime | None = None) -> bytes:
    """One ledger entry holding, for each task, the authorised decision it follows and the task
    itself, as ``orchestrator.engine`` records them."""
    derived: list[Message] = []
    for task in tasks:
        derived.append(
            ContactDecided(
                attempt_id=task.attempt_id,
                party_id=task.party_id,
                loan_id=task.loan_id,
                channel=CHANNEL_OF[type(task)],
                to=None if isinstance(task, SendLetter) else task.to,
                purpose=task.purpose,
                verdict=Verdict.AUTHORISED,
                evidence=Evidence(candidate_zones=(), window=Window(opens_at=None, closes_at=None)),
                policy_version="test",
                decided_at=task.authorised_at,
            )
        )
        derived.append(task)
    at = now or tasks[0].authorised_at
    return _entry(borrower_id, at, None, tuple(derived), *(t.attempt_id for t in tasks))


def _entry(
    borrower_id: str, at: datetime, event: Message | None, derived: tuple[Message, ...], *ids: str
) -> bytes:
    def envelope(m: Message) -> dict[str, object]:
        return wrap(m, borrower_id=borrower_id, occurred_at=at, producer="test").model_dump(
            mode="json"
        )

    entry = LedgerEntry(
        entry_id=derive_id("test entry", borrower_id, *ids),
        borrower_id=borrower_id,
        now=at,
        policy_version="test",
        strategy_version="test",
        input=None,
        event=envelope(event) if event is not None else None,
        derived=tuple(envelope(m) for m in derived),
    )
    return entry.model_dump_json().encode()
