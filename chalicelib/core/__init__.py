"""Decisions and orchestration: what a request may do and what happens then. Never imports chalice."""
