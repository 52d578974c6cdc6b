"""A Twilio-style vendor simulator for tests and the demo (real HTTP on loopback)."""

from services.channels.simulator.app import VendorSimulator
from services.channels.simulator.config import Reply, SimConfig
from services.channels.simulator.server import serve_simulator

__all__ = ["Reply", "SimConfig", "VendorSimulator", "serve_simulator"]
