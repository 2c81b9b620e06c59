"""Secrets Manager access for credentials (clusters, repositories): JSON documents under a name prefix.

The one place that talks to Secrets Manager; errors become ``DependencyUnavailable`` with a message that names
the thing, never the secret.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import DependencyUnavailable

log = logging.getLogger(__name__)
RECOVERY_DAYS = 7  # Secrets Manager's minimum window before a deleted secret is gone


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _gone(exc: ClientError) -> bool:
    """The secret does not exist, or waits out its recovery window (deleted: reads as absent)."""
    return _code(exc) == "ResourceNotFoundException" or _pending_deletion(exc)


def _pending_deletion(exc: ClientError) -> bool:
    text = str(exc).lower()
    return _code(exc) == "InvalidRequestException" and ("deleted" in text or "deletion" in text)


class Vault:
    """JSON secrets named ``<prefix><name>``."""

    def __init__(self, secrets_client: Any, prefix: str, what: str) -> None:
        self._sm = secrets_client
        self.prefix = prefix
        self._what = what  # "cluster credentials", "repository credentials": for messages

    def secret_id(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def put(self, name: str, payload: dict[str, Any]) -> str:
        """Create or replace; returns the secret id."""
        secret_id = self.secret_id(name)
        text = json.dumps(payload)
        try:
            try:
                self._restore_if_deleted(secret_id)
                self._sm.put_secret_value(SecretId=secret_id, SecretString=text)
            except ClientError as exc:
                if _pending_deletion(exc):
                    # deleted earlier and still in its recovery window: the name comes back with the new value
                    self._sm.restore_secret(SecretId=secret_id)
                    self._sm.put_secret_value(SecretId=secret_id, SecretString=text)
                    return secret_id
                if _code(exc) != "ResourceNotFoundException":
                    raise
                self._sm.create_secret(Name=secret_id, SecretString=text, Description=f"Charthouse {self._what}")
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailable(f"Secrets Manager is unavailable: the {self._what} were not stored") from exc
        return secret_id

    def _restore_if_deleted(self, secret_id: str) -> None:
        """A secret deleted earlier and still in its recovery window comes back before a new value is put: Secrets
        Manager refuses the value (handled in ``put``), moto (the local stack) takes it silently and the secret
        stayed unreadable. Read with ``GetSecretValue``, the one read the functions are granted."""
        try:
            self._sm.get_secret_value(SecretId=secret_id)
        except ClientError as exc:
            if _pending_deletion(exc):
                self._sm.restore_secret(SecretId=secret_id)
            elif _code(exc) != "ResourceNotFoundException":
                raise

    def get(self, secret_id: str) -> dict[str, Any] | None:
        """The document, or None when the secret does not exist."""
        try:
            raw = self._sm.get_secret_value(SecretId=secret_id)["SecretString"]
        except ClientError as exc:
            if _gone(exc):
                return None
            raise DependencyUnavailable(f"Secrets Manager is unavailable: cannot read {self._what}") from exc
        except BotoCoreError as exc:
            raise DependencyUnavailable(f"Secrets Manager is unreachable: cannot read {self._what}") from exc
        data = json.loads(raw)
        return data if isinstance(data, dict) else None

    def delete(self, secret_id: str) -> None:
        """Best effort: a secret left behind is unreferenced and harmless. Deleted with a recovery window
        (``RECOVERY_DAYS``): a mistaken deregistration can be undone with ``restore-secret``."""
        try:
            self._sm.delete_secret(SecretId=secret_id, RecoveryWindowInDays=RECOVERY_DAYS)
        except ClientError as exc:
            if not _gone(exc):
                log.warning("%s %s not deleted (%s); it is unreferenced", self._what, secret_id, type(exc).__name__)
        except BotoCoreError:
            log.warning("%s %s not deleted (Secrets Manager unreachable); it is unreferenced", self._what, secret_id)
