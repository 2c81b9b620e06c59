"""DynamoDB access: one table, every access pattern listed here, conditional writes instead of read-then-write.

Table ``charthouse`` (pay per request), string keys ``pk``/``sk``, two global secondary indexes (projection ALL):

====================  ==============================  ====================  ===================  =======================
item                  pk / sk                         gsi1pk / gsi1sk       gsi2pk / gsi2sk      written by
====================  ==============================  ====================  ===================  =======================
cluster               CLUSTER#<c> / META              CLUSTERS / <c>        -                    PUT cluster
release record        REL#<c>#<ns>#<n> / META         RELS#<c> / <ns>#<n>   RELS / <c>#<ns>#<n>  worker, after helm
revision              REL#<c>#<ns>#<n> / REV#<r>      -                     -                    worker, after helm
lease                 REL#<c>#<ns>#<n> / LEASE        LEASES / <exp>#<key>  -                    accept; worker frees
idempotency key       IDEM#<key> / META               -                     -                    accept (TTL: ``ttl``)
operation             OP#<id> / META                  OPS#<c> / <t>#<id>    OPS / <t>#<id>       accept; worker
audit entry           AUDIT#<id> / META               AUDIT / <t>#<id>      -                    audited calls (TTL)
token (local stages)  TOKEN#<sha256> / META           TOKENS / <name>       -                    POST /v1/tokens
policy                POLICY#<name> / META            POLICIES / <name>     -                    PUT /v1/policies/{name}
repository            REPO#<name> / META              REPOS / <name>        -                    PUT repository
repositories version  VERSION#REPOS / META            -                     -                    every repository write
uploaded chart        CHART#<name> / V#<version>      UPLOADS / <name>#<v>  -                    POST chart
access key            AK#<id> / META                  AKS / <owner>#<id>    -                    POST /v1/access-keys
used signature        SIG#<hex> / META                -                     -                    signed calls (TTL)
release event         REL#<c>#<ns>#<n> / EVT#<t>#<u>  -                     -                    reconcile (TTL)
CloudFormation reply  OP#<id> / CFN                   -                     -                    accept (TTL)
plan                  PLAN#<id> / META                -                     -                    diff, plan (TTL)
runtime               RUNTIME#<name> / META           RUNTIMES / <name>     -                    PUT runtime
runtime status        RUNTIME#<name> / STATUS         -                     -                    sync (versioned)
runtime sync step     OP#<id> / RUNTIME               -                     -                    sync
Git repository        GITREPO#<name> / META           GITREPOS / <name>     -                    PUT git repository
====================  ==============================  ====================  ===================  =======================

(<r> is the revision zero-padded to 10 digits, <t> the creation time zero-padded, so sort order is numeric; <u>
tells apart two events of the same millisecond.)

Access patterns:

* get/put/delete a cluster: GetItem/PutItem/DeleteItem on ``CLUSTER#<c>``; list clusters: Query gsi1 ``CLUSTERS``.
* get a release: GetItem ``REL#...``/``META``; history: Query ``REL#...`` with ``begins_with(sk, "REV#")``
  newest first; list per cluster: Query gsi1 ``RELS#<c>`` (``begins_with(<ns>#)`` for a namespace); list across
  clusters: Query gsi2 ``RELS``. Status/name/search/chart filters are FilterExpressions; pages are filled up to
  ``limit`` and continued with an opaque ``next_token`` (the last returned item's key).
* accept an operation: one TransactWriteItems = Put operation (new id) + Put lease (absent or expired)
  [+ Put idempotency key (absent or past its TTL)] [+ Put attachments] [+ ConditionCheck of what the request's
  checks read: the release record unchanged (``release_as_read``), the cluster's ``updated_at``
  (``cluster_as_read``), the repositories' version (``repositories_as_read``)]. A replayed key is read with GetItem
  ``IDEM#<key>``.
* stale leases (the sweep): Query gsi1 ``LEASES`` with ``gsi1sk < <now>`` (<exp> is the zero-padded expiry).
* finish an operation: one TransactWriteItems = Put release record + Put operation (condition: still ``queued`` or
  ``running``) + Delete lease (condition: ours or gone) + the revisions helm has (Put) and those it pruned or an
  uninstall removed (Delete); a history too long for one transaction is written beforehand (Query + BatchWrite).
* get an operation: GetItem ``OP#<id>``; list: Query gsi1 ``OPS#<c>`` or gsi2 ``OPS``, newest first.
* reconcile: list a cluster's records (gsi1, every status), then per changed release a conditional PutItem
  (``put_release_if_unchanged``) and a PutItem of a release event; events: Query ``REL#...`` ``begins_with EVT#``,
  newest first. A CloudFormation request is written with its operation (same transaction) and claimed once with a
  conditional UpdateItem (``take_cfn_reply``) by whoever ends the operation.
* audit: Query gsi1 ``AUDIT`` with ``gsi1sk >= <since>``, newest first; cluster/release/principal filters are
  FilterExpressions. Every mutating or refused call writes one entry.
* a repository is written (Put or Delete) in one TransactWriteItems with an update of ``VERSION#REPOS`` (``ADD
  version 1``, ``bumped_at``): a list of repositories cached at a version is exact while that version holds
  (``core/metacache.py``).
* tokens, policies, repositories and uploaded charts (``put_*``/``get_*``/``list_*``/``delete_*``): GetItem,
  PutItem, DeleteItem on their keys; list: Query gsi1 ``TOKENS`` / ``POLICIES`` / ``REPOS`` / ``UPLOADS``
  (``begins_with(<name>#)`` for one chart's versions). A bearer token is found by GetItem on its hash.
* runtimes: GetItem/PutItem/DeleteItem ``RUNTIME#<name>``; list: Query gsi1 ``RUNTIMES``; status: GetItem and a
  PutItem conditional on its ``version``; the sync step of an operation: GetItem ``OP#<id>``/``RUNTIME``; Git
  repositories: GetItem/PutItem/DeleteItem ``GITREPO#<name>``, list: Query gsi1 ``GITREPOS``.
* plans: PutItem ``PLAN#<id>`` (with a ``ttl``) when a diff or a runtime's plan is answered (facts and digests: a
  release plan's request is kept in the charts bucket); GetItem when it is applied (an item past its ``ttl`` that
  DynamoDB has not yet swept counts as absent).
* the local stack's restart (``unfinished_operations``): a Scan for queued and running operations.

Modules, one concern each (``Store`` is their union; every name the rest of the code uses is importable from here):

==============  ======================================================================================
``table``       the table definition, the error mapping of every call, paged queries and their ``next_token``
``keys``        every ``pk``/``sk``/index key and every key condition: no other module writes a key string
``codec``       models to DynamoDB attributes and back (numbers, documents, records, operations, clusters)
``releases``    release records, revisions, release events
``operations``  operations, leases, idempotency keys, CloudFormation requests
``access``      clusters, tokens, policies, repositories, uploaded charts
``audit``       audit entries
``runtimes``    runtimes, their status (optimistic version) and the sync step of an operation
``plans``       reviewed plans (``domain/plans.py``), kept until their TTL
==============  ======================================================================================
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.store.access import Access
from chalicelib.adapters.store.audit import Audit
from chalicelib.adapters.store.operations import IdempotentReplay, Operations, StaleRead
from chalicelib.adapters.store.plans import Plans
from chalicelib.adapters.store.releases import Releases
from chalicelib.adapters.store.runtimes import Runtimes
from chalicelib.adapters.store.table import Table, table_definition
from chalicelib.domain.models import ClusterInfo, Idempotency, Lease, ListQuery  # what the store takes and gives

__all__ = [
    "ClusterInfo",
    "Idempotency",
    "IdempotentReplay",
    "Lease",
    "ListQuery",
    "StaleRead",
    "Store",
    "Table",
    "table_definition",
]


class Store(Releases, Operations, Access, Audit, Runtimes, Plans):
    """Typed access to the table, one concern per base class. Every AWS failure becomes ``DependencyUnavailable``;
    a failed condition is an answer (``False``, ``None``, ``ReleaseLocked``, ``IdempotentReplay``), never an error (``StaleRead``: a condition given to ``accept`` failed)."""

    def __init__(self, dynamodb_resource: Any, table_name: str) -> None:
        super().__init__(Table(dynamodb_resource, table_name))
