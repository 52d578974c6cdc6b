"""The orchestrator's functional core: per-borrower state, evolve (apply) and decide.

Pure and synchronous: no broker, logging or retry imports, and ``now`` is always an argument.
"""
