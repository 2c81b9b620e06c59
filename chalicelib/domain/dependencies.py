"""A chart's declared dependencies (``Chart.yaml`` ``dependencies``, or ``requirements.yaml`` for apiVersion v1), and
where each one would come from.

``dependency_update`` fetches these through Charthouse (``core/catalog.py``), never through helm, so that every
download passes the SSRF guard and uses a registered repository's credentials. This module only reads what the
chart declares and sorts each dependency by its ``repository``:

``vendored``   no repository: the chart ships it in ``charts/``;
``named``      ``@name`` or ``alias:name``: a repository registered with Charthouse under that name;
``url``        ``https://`` or ``http://``: a chart repository (its index is at that URL);
``oci``        ``oci://``: a registry, the chart at ``<repository>/<name>``;
``file``       ``file://``: a path on the packager's disk, meaningless once the chart is an archive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from chalicelib.domain import yamlguard
from chalicelib.errors import InvalidInput

FIELD = "dependency_update"
MAX_DEPENDENCIES = 64


@dataclass(frozen=True)
class Dependency:
    name: str
    version: str | None  # a constraint, as helm reads it
    repository: str
    source: str  # vendored | named | url | oci | file

    @property
    def repository_name(self) -> str:
        """The registered repository a ``named`` dependency refers to."""
        return self.repository.removeprefix("@").removeprefix("alias:")


def _source(repository: str) -> str:
    if not repository:
        return "vendored"
    if repository.startswith(("@", "alias:")):
        return "named"
    if repository.startswith(("https://", "http://")):
        return "url"
    if repository.startswith("oci://"):
        return "oci"
    if repository.startswith("file://"):
        return "file"
    raise InvalidInput(FIELD, f"a dependency's repository {repository[:100]!r} is not a URL or a repository name")


def declared(chart_yaml: str, requirements_yaml: str | None = None) -> list[Dependency]:
    """The dependencies ``chart_yaml`` declares (``requirements_yaml`` for an apiVersion v1 chart that has one).
    Raises ``InvalidInput`` on ``dependency_update`` for a list that is not one of mappings with a name."""
    try:
        meta = yamlguard.load(chart_yaml, FIELD, yamlguard.CHART_YAML, what="Chart.yaml was refused: ")
        raw: Any = meta.get("dependencies") if isinstance(meta, dict) else None
        if raw is None and requirements_yaml is not None:
            reqs = yamlguard.load(
                requirements_yaml, FIELD, yamlguard.CHART_YAML, what="requirements.yaml was refused: "
            )
            raw = reqs.get("dependencies") if isinstance(reqs, dict) else None
    except yaml.YAMLError as exc:
        raise InvalidInput(FIELD, "the chart's Chart.yaml or requirements.yaml is not valid YAML") from exc
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_DEPENDENCIES:
        raise InvalidInput(FIELD, f"the chart's dependencies must be a list of at most {MAX_DEPENDENCIES}")
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise InvalidInput(FIELD, "every dependency of the chart needs a name")
        repository = str(item.get("repository") or "").strip()
        version = item.get("version")
        out.append(
            Dependency(
                item["name"], str(version) if version not in (None, "") else None, repository, _source(repository)
            )
        )
    return out
