"""The rig for fault tests: services as subprocesses in simulated time, with the vendor
simulator, the SMTP server and the gateway in the test process, and a Simulation driving them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaProducer

from events.topics import Topics
from services.channels.simulator.app import VendorSimulator
from services.channels.simulator.config import SimConfig
from services.channels.simulator.server import serve_simulator
from services.channels.smtp_capture import SmtpCapture
from services.gateway.settings import GatewaySettings
from services.runtime.clock import SimClock
from services.runtime.lag import LagProbe
from services.runtime.tansu import free_port
from services.simulation.driver import Simulation
from services.simulation.portfolio import Portfolio
from services.stack import run_services
from tests.support.pipeline import FAST, PARTITIONS
from tests.support.processes import ServiceProcess, service_env

TOKEN, SID = "fault-token", "ACfault"


@dataclass
class Rig:
    sim: VendorSimulator
    smtp: SmtpCapture
    simulation: Simulation
    env: dict[str, str]
    logs: Path
    processes: list[ServiceProcess] = field(default_factory=list)

    def process(self, service: str, log_name: str) -> ServiceProcess:
        """A `parley run --service` subprocess, stopped when the rig closes (not started yet)."""
        proc = ServiceProcess(service, self.env, self.logs / log_name)
        self.processes.append(proc)
        return proc

    def stop_processes(self) -> None:
        for proc in self.processes:
            proc.stop()


@contextlib.asynccontextmanager
async def simulated_rig(
    bootstrap: str, topics: Topics, portfolio: Portfolio, logs: Path, *, latency_ms: int = 0
) -> AsyncIterator[Rig]:
    clock = SimClock(portfolio.start)
    gateway_port = free_port()
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    sim = VendorSimulator(
        SimConfig(
            account_sid=SID,
            auth_token=TOKEN,
            inbound_url=f"{gateway_url}/webhooks/twilio/inbound",
            latency_ms=latency_ms,
        )
    )
    gateway = GatewaySettings.model_validate(
        {**FAST, "namespace": topics.namespace, "port": gateway_port, "vendor_auth_token": TOKEN}
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    probe = LagProbe(bootstrap)
    async with serve_simulator(sim) as vendor_url, SmtpCapture() as smtp:
        env = service_env(
            bootstrap=bootstrap,
            namespace=topics.namespace,
            vendor_url=vendor_url,
            sid=SID,
            token=TOKEN,
            gateway_url=gateway_url,
            smtp_host=smtp.hostname,
            smtp_port=smtp.port,
        )
        await producer.start()
        await probe.start()
        simulation = Simulation(portfolio, topics, PARTITIONS, producer, probe, sim, clock)
        rig = Rig(sim, smtp, simulation, env, logs)
        try:
            async with run_services(bootstrap, ("gateway",), clock, gateway=gateway):
                yield rig
        finally:
            rig.stop_processes()
            await producer.stop()
            await probe.stop()
