"""What gives access to clusters and charts: registered clusters, bearer tokens (local stages), authorization
policies, chart repositories, uploaded charts, access keys (and the request signatures already used).

A cluster is stored attribute by attribute (``ClusterInfo``); the others are documents whose shape belongs to the
core module that writes them (``auth``, ``authz``, ``repositories``, ``uploads``): the store keys and lists them,
and keeps each one as a JSON ``doc``. Documents are read with consistent reads: a policy or a token that was just
written or deleted is seen so at once.
"""

from __future__ import annotations

import uuid
from typing import Any

from boto3.dynamodb.conditions import ConditionBase
from botocore.exceptions import ClientError

from chalicelib.adapters.store import codec, keys
from chalicelib.adapters.store.table import Part
from chalicelib.domain.models import ClusterInfo, now


class Access(Part):
    # ------------------------------------------------------------ clusters

    def put_cluster(self, info: ClusterInfo) -> None:
        self.table.put({**keys.cluster(info.name), **keys.cluster_index(info.name), **codec.cluster_attributes(info)})

    def get_cluster(self, name: str) -> ClusterInfo | None:
        item = self.table.get(keys.cluster(name))
        return codec.cluster_from_item(item) if item else None

    def list_clusters(self) -> list[ClusterInfo]:
        return [codec.cluster_from_item(i) for i in self.table.query_all(*keys.clusters())]

    def delete_cluster(self, name: str) -> None:
        self.table.delete(keys.cluster(name))

    @staticmethod
    def cluster_as_read(info: ClusterInfo) -> dict[str, Any]:
        """A condition for ``accept``: the cluster is registered still as ``info`` says (each registration writes a
        new ``updated_at``: its version)."""
        return {
            "Key": keys.cluster(info.name),
            "ConditionExpression": "updated_at = :u",
            "ExpressionAttributeValues": {":u": codec.number(info.updated_at)},
        }

    # ------------------------------------------------------------ bearer tokens (stored by their SHA-256)

    def put_token(self, digest: str, name: str, doc: dict[str, Any]) -> None:
        self._put_doc(keys.token(digest), keys.token_index(name), doc)

    def get_token(self, digest: str) -> dict[str, Any] | None:
        return self._get_doc(keys.token(digest))

    def list_tokens(self, name: str | None = None) -> list[dict[str, Any]]:
        """Every token's document, or those of the tokens called ``name``."""
        docs = self._list_docs(*keys.tokens(name))
        return [d for d in docs if d.get("name") == name] if name else docs

    def delete_token(self, digest: str) -> None:
        self.table.delete(keys.token(digest))

    # ------------------------------------------------------------ authorization policies

    def put_policy(self, name: str, doc: dict[str, Any]) -> None:
        self._put_doc(keys.policy(name), keys.policy_index(name), doc)

    def get_policy(self, name: str) -> dict[str, Any] | None:
        return self._get_doc(keys.policy(name))

    def list_policies(self) -> list[dict[str, Any]]:
        return self._list_docs(*keys.policies())

    def delete_policy(self, name: str) -> None:
        self.table.delete(keys.policy(name))

    # ------------------------------------------------------------ chart repositories

    def put_repository(self, name: str, doc: dict[str, Any]) -> None:
        """Write a repository and bump the repositories' version, in one transaction."""
        item = {**keys.repository(name), **keys.repository_index(name), **codec.to_doc(doc)}
        self._bumping_repositories({"Put": {"TableName": self.table.name, "Item": item}})

    def get_repository(self, name: str) -> dict[str, Any] | None:
        return self._get_doc(keys.repository(name))

    def list_repositories(self) -> list[dict[str, Any]]:
        return self._list_docs(*keys.repositories())

    def delete_repository(self, name: str) -> None:
        """Delete a repository and bump the repositories' version, in one transaction."""
        self._bumping_repositories({"Delete": {"TableName": self.table.name, "Key": keys.repository(name)}})

    def repositories_version(self) -> tuple[int, float]:
        """The repositories' version (0 before any write) and when it was bumped (epoch seconds): a cache of
        repositories read at a version is exact while ``repositories_as_read`` of it holds."""
        item = self.table.get(keys.repositories_version(), consistent=True)
        return (int(item["version"]), float(item["bumped_at"])) if item else (0, 0.0)

    @staticmethod
    def repositories_as_read(version: int) -> dict[str, Any]:
        """A condition for ``accept``: no repository was written since the version ``version`` was read."""
        if version == 0:
            return {"Key": keys.repositories_version(), "ConditionExpression": "attribute_not_exists(pk)"}
        return {
            "Key": keys.repositories_version(),
            "ConditionExpression": "#v = :v",
            "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":v": version},
        }

    def _bumping_repositories(self, write: dict[str, Any]) -> None:
        bump = {
            "Update": {
                "TableName": self.table.name,
                "Key": keys.repositories_version(),
                "UpdateExpression": "ADD #v :one SET bumped_at = :t",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":one": 1, ":t": codec.number(now())},
            }
        }
        self.table.transact([write, bump], token=uuid.uuid4().hex)

    # ------------------------------------------------------------ uploaded charts (one document per version)

    def put_uploaded_chart(self, name: str, version: str, doc: dict[str, Any]) -> None:
        self._put_doc(keys.uploaded_chart(name, version), keys.uploaded_chart_index(name, version), doc)

    def get_uploaded_chart(self, name: str, version: str) -> dict[str, Any] | None:
        return self._get_doc(keys.uploaded_chart(name, version))

    def list_uploaded_charts(self, name: str | None = None) -> list[dict[str, Any]]:
        """Every uploaded version, or the versions of chart ``name``, in name and version string order."""
        return self._list_docs(*keys.uploaded_charts(name))

    def delete_uploaded_chart(self, name: str, version: str) -> None:
        self.table.delete(keys.uploaded_chart(name, version))

    # ------------------------------------------------------------ access keys (SDK-HMAC-SHA256 signing)

    def put_access_key(self, key_id: str, owner: str, doc: dict[str, Any]) -> None:
        self._put_doc(keys.access_key(key_id), keys.access_key_index(owner, key_id), doc)

    def get_access_key(self, key_id: str) -> dict[str, Any] | None:
        return self._get_doc(keys.access_key(key_id))

    def list_access_keys(self, owner: str | None = None) -> list[dict[str, Any]]:
        """Every access key's document, or those of ``owner``."""
        docs = self._list_docs(*keys.access_keys(owner))
        return [d for d in docs if d.get("owner") == owner] if owner else docs

    def delete_access_key(self, key_id: str) -> None:
        self.table.delete(keys.access_key(key_id))

    def claim_signature(self, signature: str, expires_epoch: int) -> bool:
        """Record a request signature as used; False when it was used already (a replay)."""
        try:
            self.table.put(
                {**keys.seen_signature(signature), "ttl": expires_epoch},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError:
            return False
        return True

    # ------------------------------------------------------------ documents

    def _put_doc(self, key: keys.ItemKey, index: keys.IndexKeys, doc: dict[str, Any]) -> None:
        self.table.put({**key, **index, **codec.to_doc(doc)})

    def _get_doc(self, key: keys.ItemKey) -> dict[str, Any] | None:
        item = self.table.get(key, consistent=True)
        return codec.from_doc(item) if item else None

    def _list_docs(self, index: str | None, key: ConditionBase) -> list[dict[str, Any]]:
        return [codec.from_doc(i) for i in self.table.query_all(index, key)]
