"""Management commands of the transport."""
