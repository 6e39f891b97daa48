"""The providers' callbacks under /payments/ (one module per provider): each verifies what it
receives (a server-to-server verify, or a signature) before anything changes."""
