"""How messages travel and persist: envelope, topics, serialisation, upcasting."""
