"""Repositories: the only callers of the transport (one per API domain)."""
