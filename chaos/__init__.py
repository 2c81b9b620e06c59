"""The chaos harness: random verbs against an isolated local stack, one fault injected at a random moment per
round, then the invariants checked after a bounded recovery window (``python -m chaos --seed N``)."""
