"""Outbound HTTP(S): fetching and the SSRF guard."""
