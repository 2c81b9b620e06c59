"""Runtimes: the declaration (``RUNTIME#<name>``/``META``), its status (``/STATUS``, written with an optimistic
``version`` so two syncs never interleave) and, beside an operation a sync started, the step it was (``OP#<id>``/
``RUNTIME``); and the Git repositories runtimes may name (``GITREPO#<name>``/``META``)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.store import codec, keys
from chalicelib.adapters.store.table import Part
from chalicelib.domain.models import Operation


class Runtimes(Part):
    def put_runtime(self, name: str, doc: dict[str, Any]) -> None:
        self.table.put({**keys.runtime(name), **keys.runtime_index(name), **codec.to_doc(doc)})

    def get_runtime(self, name: str) -> dict[str, Any] | None:
        item = self.table.get(keys.runtime(name), consistent=True)
        return codec.from_doc(item) if item else None

    def list_runtimes(self) -> list[dict[str, Any]]:
        return [codec.from_doc(i) for i in self.table.query_all(*keys.runtimes())]

    def delete_runtime(self, name: str) -> None:
        self.table.delete(keys.runtime(name))
        self.table.delete(keys.runtime_status(name))

    def get_runtime_status(self, name: str) -> tuple[dict[str, Any], int]:
        """The status document and its version (0: none yet)."""
        item = self.table.get(keys.runtime_status(name), consistent=True)
        if not item:
            return {}, 0
        return codec.from_doc(item), int(item.get("version", 0))

    def put_runtime_status(self, name: str, doc: dict[str, Any], version: int) -> bool:
        """Write the status if it is still at ``version`` (0: absent); False when another writer came first."""
        item = {**keys.runtime_status(name), **codec.to_doc(doc), "version": version + 1}
        try:
            if version == 0:
                self.table.put(item, ConditionExpression="attribute_not_exists(pk)")
            else:
                self.table.put(item, ConditionExpression="version = :v", ExpressionAttributeValues={":v": version})
        except ClientError:
            return False
        return True

    def put_git_repository(self, name: str, doc: dict[str, Any]) -> None:
        self.table.put({**keys.git_repository(name), **keys.git_repository_index(name), **codec.to_doc(doc)})

    def get_git_repository(self, name: str) -> dict[str, Any] | None:
        item = self.table.get(keys.git_repository(name), consistent=True)
        return codec.from_doc(item) if item else None

    def list_git_repositories(self) -> list[dict[str, Any]]:
        return [codec.from_doc(i) for i in self.table.query_all(*keys.git_repositories())]

    def delete_git_repository(self, name: str) -> None:
        self.table.delete(keys.git_repository(name))

    @staticmethod
    def runtime_step_item(doc: dict[str, Any]) -> dict[str, Any]:
        """The attachment (see ``accept``) naming the runtime sync step an operation is, written with it."""
        return {"sk": keys.RUNTIME_STEP, **codec.to_doc(doc)}

    def get_runtime_step(self, op: Operation) -> dict[str, Any] | None:
        """The runtime step ``op`` is (None for an operation accepted without one, at no read)."""
        if not op.may_have(keys.RUNTIME_STEP):
            return None
        item = self.table.get(keys.runtime_step(op.id), consistent=True)
        return codec.from_doc(item) if item else None
