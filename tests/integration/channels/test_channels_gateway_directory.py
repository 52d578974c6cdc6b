"""The production gateway's directory replays the upstream topic on every start. Until it has
read what the topic held when it started it is not ready, and the gateway does not acknowledge
a STOP it cannot route yet: the opt-out is emitted, or the vendor is told to retry (P6). What it
reads also tells it which borrower each debt belongs to, so receipts for a person on two
borrowers' debts are routed by the debt."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from structlog.testing import capture_logs

from contracts import BorrowerProfiled, LoanOpened, Message, PartyLinked
from contracts.upstream import RequestContact
from contracts.values import Address, Channel, Money, PartyRole, Phone, PhoneType
from events.envelope import wrap
from events.partitioning import partition_for
from events.topics import Topics
from services.gateway.kafka import UpstreamDirectory
from services.gateway.settings import GatewaySettings
from services.gateway.signing import compute_signature
from services.runtime.clock import SimClock
from services.runtime.tansu import free_port
from services.stack import run_services
from tests.support.pipeline import FAST, PARTITIONS, producer, read_topic, send_envelope

pytestmark = pytest.mark.broker

T0 = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
TOKEN = "directory-token"
FILLER = 20000  # several fetches (max_records=2000): the replay takes a while


def number(i: int) -> str:
    return f"+1212{i:07d}"


async def publish_profiles(p: AIOKafkaProducer, topics: Topics, count: int) -> None:
    futures = []
    for i in range(count):
        profile = BorrowerProfiled(
            party_id=f"party-{i}",
            name="Ann",
            addresses=(Address(country="US", region="NY", city="Albany", postal_code="12207"),),
            phones=(Phone(number=number(i), type=PhoneType.MOBILE),),
        )
        envelope = wrap(profile, borrower_id=f"b-{i}", occurred_at=T0, producer="test")
        key = envelope.borrower_id.encode()
        futures.append(
            await p.send(
                topics.upstream,
                envelope.model_dump_json().encode(),
                key=key,
                partition=partition_for(key, PARTITIONS),
            )
        )
    for future in futures:
        await future


async def test_directory_is_ready_only_once_it_knows_everyone_published_before_it_started(
    bootstrap: str, topics: Topics
) -> None:
    """At the first moment it says ready, every profile already on the topic is indexed."""
    async with producer(bootstrap) as p:
        await publish_profiles(p, topics, FILLER)

    directory = UpstreamDirectory(bootstrap, topics, PARTITIONS)
    await directory.start()
    try:
        assert not directory.ready()
        for _ in range(3000):
            if directory.ready():
                break
            await asyncio.sleep(0.01)
        else:
            raise TimeoutError("the directory never caught up")
        known = sum(directory.borrower_for_party(f"party-{i}") is not None for i in range(FILLER))
    finally:
        await directory.stop()

    assert known == FILLER


async def test_stop_posted_right_after_a_gateway_start_is_emitted_or_retried_never_lost(
    bootstrap: str, topics: Topics
) -> None:
    """The gateway is posted a known borrower's STOP as soon as it listens, while its directory
    replays. Each answer is either 503 + Retry-After (the vendor redelivers) or 200 with the
    STOP on the outcomes topic; a 200 with nothing emitted is the lost opt-out."""
    async with producer(bootstrap) as p:
        await publish_profiles(p, topics, FILLER)
    last = FILLER - 1  # the last one published: the replay reaches it last in its partition
    settings = GatewaySettings.model_validate(
        {**FAST, "namespace": topics.namespace, "port": free_port(), "vendor_auth_token": TOKEN}
    )
    form = {"MessageSid": "SMrestart", "From": number(last), "To": "12345", "Body": "STOP"}
    statuses: list[int] = []
    async with run_services(
        bootstrap, ("gateway",), SimClock(T0 + timedelta(minutes=1)), gateway=settings
    ) as running:
        url = running.gateway_url
        assert url is not None
        path = "/webhooks/twilio/inbound"
        signature = compute_signature(url + path, list(form.items()), TOKEN)
        async with httpx.AsyncClient(base_url=url) as client:
            for _ in range(600):  # the vendor retrying, only faster than Retry-After says
                response = await client.post(
                    path, data=form, headers={"X-Twilio-Signature": signature}
                )
                statuses.append(response.status_code)
                if response.status_code != 503:
                    break
                assert int(response.headers["retry-after"]) > 0
                await asyncio.sleep(0.01)

    assert statuses[-1] == 200
    assert set(statuses[:-1]) <= {503}
    inbound = [
        json.loads(r.value)
        for r in await read_topic(bootstrap, topics.outcomes)
        if json.loads(r.value)["type"] == "inbound.sms"
    ]
    assert [(e["borrower_id"], e["payload"]["body"]) for e in inbound] == [(f"b-{last}", "STOP")]


async def test_a_co_signers_receipts_reach_each_debts_borrower_through_the_real_gateway(
    bootstrap: str, topics: Topics
) -> None:
    """b-cs borrows on L-own and co-signs b-other's L-other (so b-cs is a party of two
    borrowers). The directory replayed from the topic knows which borrower each debt belongs
    to, and the receipt for a text about each debt is published under that borrower."""
    phones = (Phone(number=number(1), type=PhoneType.MOBILE),)
    principal = Money(amount=Decimal(500), currency="USD")
    facts: list[tuple[str, Message]] = [
        ("b-cs", BorrowerProfiled(party_id="b-cs", name="Ann", phones=phones)),
        ("b-cs", LoanOpened(loan_id="L-own", product="p", principal=principal)),
        ("b-other", BorrowerProfiled(party_id="b-other", name="Bo")),
        ("b-other", LoanOpened(loan_id="L-other", product="p", principal=principal)),
        (
            "b-other",
            PartyLinked(
                loan_id="L-other",
                party_id="b-cs",
                role=PartyRole.GUARANTOR,
                name="Ann",
                phones=phones,
            ),
        ),
    ]
    statuses = await post_receipts(
        bootstrap, topics, facts, "b-cs", [("att-own", "L-own"), ("att-other", "L-other")]
    )

    assert list(statuses.values()) == [204, 204]
    published = [json.loads(r.value) for r in await read_topic(bootstrap, topics.outcomes)]
    routed = {(e["payload"]["attempt_id"], e["borrower_id"]) for e in published}
    assert routed == {("att-own", "b-cs"), ("att-other", "b-other")}


async def post_receipts(
    bootstrap: str,
    topics: Topics,
    facts: list[tuple[str, Message]],
    party: str,
    receipts: list[tuple[str, str]],
) -> dict[str, int]:
    """Publish ``facts`` (borrower id, message) upstream, start the gateway on that topic, and
    once its directory has caught up post a signed "delivered" receipt for each (attempt, loan)
    about ``party`` (a callback without a borrower): the status each got, by attempt."""
    async with producer(bootstrap) as p:
        for borrower_id, fact in facts:
            envelope = wrap(fact, borrower_id=borrower_id, occurred_at=T0, producer="test")
            await send_envelope(p, topics.upstream, envelope)
    settings = GatewaySettings.model_validate(
        {**FAST, "namespace": topics.namespace, "port": free_port(), "vendor_auth_token": TOKEN}
    )
    statuses: dict[str, int] = {}
    async with run_services(
        bootstrap, ("gateway",), SimClock(T0 + timedelta(minutes=1)), gateway=settings
    ) as running:
        url, directory = running.gateway_url, running.directory
        assert url is not None
        assert directory is not None
        await wait_until_ready(directory)
        async with httpx.AsyncClient(base_url=url) as client:
            for attempt, loan in receipts:
                path = "/webhooks/twilio/status?" + urlencode(
                    {"attempt": attempt, "party": party, "loan": loan}
                )
                form = {"MessageSid": f"SM{attempt}", "MessageStatus": "delivered"}
                signature = compute_signature(url + path, list(form.items()), TOKEN)
                response = await client.post(
                    path, data=form, headers={"X-Twilio-Signature": signature}
                )
                statuses[attempt] = response.status_code
    return statuses


async def wait_until_ready(directory: UpstreamDirectory) -> None:
    for _ in range(1000):
        if directory.ready():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the directory never caught up")


async def test_receipts_follow_the_debt_read_from_the_topic_not_the_partys_other_borrowers(
    bootstrap: str, topics: Topics
) -> None:
    """g-1 guarantees A's LA and C's LC; B's LB is on the topic but no link puts g-1 on it; a
    desk asked to contact g-1 about LA2, another of A's debts. The debt alone decides: a receipt
    about LB is B's (not A's, g-1's first borrower), one about LA2 is A's (not ambiguous
    between A and C), and one about a debt nowhere on the topic is retried, not guessed."""
    phones = (Phone(number=number(2), type=PhoneType.MOBILE),)
    principal = Money(amount=Decimal(500), currency="USD")

    def guarantee(loan_id: str) -> PartyLinked:
        return PartyLinked(
            loan_id=loan_id, party_id="g-1", role=PartyRole.GUARANTOR, name="Gus", phones=phones
        )

    facts: list[tuple[str, Message]] = [
        ("A", BorrowerProfiled(party_id="A", name="Ann")),
        ("A", LoanOpened(loan_id="LA", product="p", principal=principal)),
        ("A", guarantee("LA")),
        ("C", BorrowerProfiled(party_id="C", name="Cy")),
        ("C", LoanOpened(loan_id="LC", product="p", principal=principal)),
        ("C", guarantee("LC")),
        ("B", BorrowerProfiled(party_id="B", name="Bo")),
        ("B", LoanOpened(loan_id="LB", product="p", principal=principal)),
        (
            "A",
            RequestContact(
                request_id="desk-1",
                party_id="g-1",
                loan_id="LA2",
                channel=Channel.SMS,
                requested_by="desk",
            ),
        ),
    ]
    statuses = await post_receipts(
        bootstrap, topics, facts, "g-1", [("att-b", "LB"), ("att-a2", "LA2"), ("att-z", "LZ")]
    )

    assert statuses == {"att-b": 204, "att-a2": 204, "att-z": 503}
    published = [json.loads(r.value) for r in await read_topic(bootstrap, topics.outcomes)]
    routed = {(e["payload"]["attempt_id"], e["borrower_id"]) for e in published}
    assert routed == {("att-b", "B"), ("att-a2", "A")}


async def test_a_debt_named_under_two_borrowers_keeps_the_one_read_first_and_is_reported(
    bootstrap: str, topics: Topics
) -> None:
    """Upstream breaking "a debt has one borrower" does not move a debt once read (receipts may
    already have been routed by it), and the contradiction is logged, by the debt's id only.
    Which borrower was read first depends on the partitions, so either may be kept."""
    principal = Money(amount=Decimal(500), currency="USD")
    async with producer(bootstrap) as p:
        for borrower_id in ("b-first", "b-second"):
            fact = LoanOpened(loan_id="L-dup", product="p", principal=principal)
            envelope = wrap(fact, borrower_id=borrower_id, occurred_at=T0, producer="test")
            await send_envelope(p, topics.upstream, envelope)

    directory = UpstreamDirectory(bootstrap, topics, PARTITIONS)
    with capture_logs() as logs:
        await directory.start()
        try:
            await wait_until_ready(directory)
        finally:
            await directory.stop()

    assert directory.borrower_for_loan("L-dup") in {"b-first", "b-second"}
    conflicts = [e for e in logs if e["event"] == "gateway.directory_loan_conflict"]
    assert conflicts == [
        {"event": "gateway.directory_loan_conflict", "log_level": "warning", "loan_id": "L-dup"}
    ]
