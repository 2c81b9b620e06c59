"""Every key of the table: the item keys (``pk``/``sk``), the index keys (``gsi1*``, ``gsi2*``) and the key
conditions of every Query. No other module writes a key string; the layout is drawn in the package docstring.

Times in sort keys are zero-padded (``sortable``) and revisions padded to 10 digits, so that string order is
numeric order. Names inside keys are DNS labels (clusters, namespaces, policies, repositories) or helm release and
chart names: none contains ``#``, so ``#`` separates the parts unambiguously.
"""

from __future__ import annotations

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from chalicelib.adapters.store.table import GSI1, GSI2
from chalicelib.domain.models import Operation, ReleaseRef

ItemKey = dict[str, str]  # {"pk": ..., "sk": ...}
IndexKeys = dict[str, str]  # {"gsi1pk": ..., "gsi1sk": ...[, "gsi2pk": ..., "gsi2sk": ...]}
Query = tuple[str | None, ConditionBase]  # (index, key condition): what ``Table.query_page`` is given

META = "META"
LEASE = "LEASE"
CFN_REPLY = "CFN"
REVISION_PREFIX = "REV#"
EVENT_PREFIX = "EVT#"
UPLOAD_PREFIX = "V#"

# the partitions of the indexes: one per kind of listed thing
CLUSTERS = "CLUSTERS"
RELEASES = "RELS"
OPERATIONS = "OPS"
LEASES = "LEASES"
AUDIT = "AUDIT"
TOKENS = "TOKENS"
POLICIES = "POLICIES"
REPOSITORIES = "REPOS"
UPLOADS = "UPLOADS"
ACCESS_KEYS = "AKS"


def sortable(ts: float) -> str:
    """A time as a sort key: zero-padded, millisecond precision, so that string order is time order."""
    return f"{ts:017.3f}"


def _key(pk: str, sk: str = META) -> ItemKey:
    return {"pk": pk, "sk": sk}


def _gsi1(pk: str, sk: str) -> IndexKeys:
    return {"gsi1pk": pk, "gsi1sk": sk}


# ---------------------------------------------------------------- releases, revisions, events, leases


def release_pk(ref: ReleaseRef) -> str:
    """The partition of everything about one release: its record, revisions, lease and events."""
    return f"REL#{ref.cluster}#{ref.namespace}#{ref.name}"


def release(ref: ReleaseRef) -> ItemKey:
    return _key(release_pk(ref))


def release_indexes(ref: ReleaseRef) -> IndexKeys:
    """gsi1: the cluster's releases by namespace and name; gsi2: every release."""
    return {
        "gsi1pk": f"{RELEASES}#{ref.cluster}",
        "gsi1sk": f"{ref.namespace}#{ref.name}",
        "gsi2pk": RELEASES,
        "gsi2sk": f"{ref.cluster}#{ref.namespace}#{ref.name}",
    }


def releases(cluster: str | None, namespace: str | None = None) -> Query:
    """Records of one cluster (gsi1; one namespace with ``begins_with``), or of every cluster (gsi2)."""
    if not cluster:
        return GSI2, Key("gsi2pk").eq(RELEASES)
    key: ConditionBase = Key("gsi1pk").eq(f"{RELEASES}#{cluster}")
    if namespace:
        key = key & Key("gsi1sk").begins_with(f"{namespace}#")
    return GSI1, key


def revision(ref: ReleaseRef, number: int) -> ItemKey:
    return _key(release_pk(ref), f"{REVISION_PREFIX}{number:010d}")


def revisions(ref: ReleaseRef) -> Query:
    return None, Key("pk").eq(release_pk(ref)) & Key("sk").begins_with(REVISION_PREFIX)


def release_event(ref: ReleaseRef, ts: float, unique: str) -> ItemKey:
    """``unique`` tells apart two events of the same millisecond."""
    return _key(release_pk(ref), f"{EVENT_PREFIX}{sortable(ts)}#{unique}")


def release_events(ref: ReleaseRef) -> Query:
    return None, Key("pk").eq(release_pk(ref)) & Key("sk").begins_with(EVENT_PREFIX)


def lease(ref: ReleaseRef) -> ItemKey:
    return _key(release_pk(ref), LEASE)


def lease_index(ref: ReleaseRef, expires_at: float) -> IndexKeys:
    """Leases by expiry, so the sweep finds the stale ones with one range query."""
    return _gsi1(LEASES, f"{sortable(expires_at)}#{ref.key}")


def leases_expired_before(ts: float) -> Query:
    return GSI1, Key("gsi1pk").eq(LEASES) & Key("gsi1sk").lt(sortable(ts))


def leases_live_at(ts: float) -> Query:
    return GSI1, Key("gsi1pk").eq(LEASES) & Key("gsi1sk").gte(sortable(ts))


# ---------------------------------------------------------------- operations, idempotency keys, CloudFormation


def operation_pk(op_id: str) -> str:
    """The partition of an operation: its record and its attachments (the CloudFormation request)."""
    return f"OP#{op_id}"


def operation(op_id: str) -> ItemKey:
    return _key(operation_pk(op_id))


def operation_indexes(op: Operation) -> IndexKeys:
    """gsi1: the cluster's operations by creation time; gsi2: every operation by creation time."""
    order = f"{sortable(op.created_at)}#{op.id}"
    return {"gsi1pk": f"{OPERATIONS}#{op.release.cluster}", "gsi1sk": order, "gsi2pk": OPERATIONS, "gsi2sk": order}


def operations(cluster: str | None) -> Query:
    if cluster:
        return GSI1, Key("gsi1pk").eq(f"{OPERATIONS}#{cluster}")
    return GSI2, Key("gsi2pk").eq(OPERATIONS)


def operation_records() -> ConditionBase:
    """A scan filter matching operation records (not their attachments)."""
    return Attr("pk").begins_with(operation_pk("")) & Attr("sk").eq(META)


def cfn_reply(op_id: str) -> ItemKey:
    return _key(operation_pk(op_id), CFN_REPLY)


def idempotency(key: str) -> ItemKey:
    return _key(f"IDEM#{key}")


# ---------------------------------------------------------------- audit


def audit(entry_id: str) -> ItemKey:
    return _key(f"AUDIT#{entry_id}")


def audit_index(at: float, entry_id: str) -> IndexKeys:
    return _gsi1(AUDIT, f"{sortable(at)}#{entry_id}")


def audit_since(since: float) -> Query:
    return GSI1, Key("gsi1pk").eq(AUDIT) & Key("gsi1sk").gte(sortable(since))


# ---------------------------------------------------------------- access records


def cluster(name: str) -> ItemKey:
    return _key(f"CLUSTER#{name}")


def cluster_index(name: str) -> IndexKeys:
    return _gsi1(CLUSTERS, name)


def clusters() -> Query:
    return GSI1, Key("gsi1pk").eq(CLUSTERS)


def token(digest: str) -> ItemKey:
    """A bearer token is found by the SHA-256 of its text: the text itself is never stored."""
    return _key(f"TOKEN#{digest}")


def token_index(name: str) -> IndexKeys:
    return _gsi1(TOKENS, name)


def tokens(name: str | None = None) -> Query:
    key = Key("gsi1pk").eq(TOKENS)
    return GSI1, key & Key("gsi1sk").begins_with(name) if name else key


def policy(name: str) -> ItemKey:
    return _key(f"POLICY#{name}")


def policy_index(name: str) -> IndexKeys:
    return _gsi1(POLICIES, name)


def policies() -> Query:
    return GSI1, Key("gsi1pk").eq(POLICIES)


def repository(name: str) -> ItemKey:
    return _key(f"REPO#{name}")


def repository_index(name: str) -> IndexKeys:
    return _gsi1(REPOSITORIES, name)


def repositories() -> Query:
    return GSI1, Key("gsi1pk").eq(REPOSITORIES)


def repositories_version() -> ItemKey:
    """The version every write of a repository bumps (``Access.repositories_version``)."""
    return _key("VERSION#REPOS")


def uploaded_chart(name: str, version: str) -> ItemKey:
    return _key(f"CHART#{name}", f"{UPLOAD_PREFIX}{version}")


def uploaded_chart_index(name: str, version: str) -> IndexKeys:
    return _gsi1(UPLOADS, f"{name}#{version}")


def uploaded_charts(name: str | None = None) -> Query:
    """Every uploaded chart version, or one chart's versions."""
    key = Key("gsi1pk").eq(UPLOADS)
    return GSI1, key & Key("gsi1sk").begins_with(f"{name}#") if name else key


def access_key(key_id: str) -> ItemKey:
    """An access key (SDK-HMAC-SHA256 signing) by its id; its secret is in Secrets Manager, not here."""
    return _key(f"AK#{key_id}")


def access_key_index(owner: str, key_id: str) -> IndexKeys:
    return _gsi1(ACCESS_KEYS, f"{owner}#{key_id}")


def access_keys(owner: str | None = None) -> Query:
    key = Key("gsi1pk").eq(ACCESS_KEYS)
    return GSI1, key & Key("gsi1sk").begins_with(f"{owner}#") if owner else key


def plan(plan_id: str) -> ItemKey:
    """A reviewed plan (``POST .../diff``), kept until its TTL."""
    return _key(f"PLAN#{plan_id}")


def seen_signature(signature: str) -> ItemKey:
    """A signature already used (replay protection), kept until it would be too old anyway (TTL)."""
    return _key(f"SIG#{signature}")


# ---------------------------------------------------------------- runtimes


RUNTIMES = "RUNTIMES"
RUNTIME_STATUS = "STATUS"
RUNTIME_STEP = "RUNTIME"


def runtime(name: str) -> ItemKey:
    return _key(f"RUNTIME#{name}")


def runtime_index(name: str) -> IndexKeys:
    return _gsi1(RUNTIMES, name)


def runtimes() -> Query:
    return GSI1, Key("gsi1pk").eq(RUNTIMES)


def runtime_status(name: str) -> ItemKey:
    return _key(f"RUNTIME#{name}", RUNTIME_STATUS)


def runtime_step(op_id: str) -> ItemKey:
    """The runtime sync step an operation belongs to, beside the operation (like a CloudFormation reply)."""
    return _key(operation_pk(op_id), RUNTIME_STEP)


GIT_REPOSITORIES = "GITREPOS"


def git_repository(name: str) -> ItemKey:
    return _key(f"GITREPO#{name}")


def git_repository_index(name: str) -> IndexKeys:
    return _gsi1(GIT_REPOSITORIES, name)


def git_repositories() -> Query:
    return GSI1, Key("gsi1pk").eq(GIT_REPOSITORIES)
