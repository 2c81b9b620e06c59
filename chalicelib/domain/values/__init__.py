"""Turn a request's values inputs into the ONE values mapping handed to helm: one parser, used by all.

The modules, each owning one thing:

``tree``
    the JSON type, :class:`Limits`, the validating copy every parser ends with, deep merge primitives;
``yaml_dialect``
    helm's YAML dialect (YAML 1.1 traps, anchors; aliases bounded by :mod:`~chalicelib.domain.yamlguard`):
    :func:`parse_values`, and :func:`load_document` for a file that holds values inside (a releases file);
``strvals``
    helm's ``--set``/``--set-string``/``--set-json`` syntax: :func:`parse_set`, :func:`sensitive_paths`;
``merge``
    helm's precedence: :func:`merge`, the ``values_files`` list, :func:`combine`;
``output``
    what leaves: :func:`to_helm_file` (the ``-f`` file helm reads) and :func:`digest`.

Precedence (helm's, see :mod:`~chalicelib.domain.values.merge`)::

    chart defaults < values_files (in order) < values < set_json < set < set_string < set_sensitive

Everything here is pure: no I/O, no logging, no mutation of the caller's objects. Every rejection is an
:class:`~chalicelib.errors.InvalidInput` (or its subclass :class:`~chalicelib.errors.PayloadTooLarge` when a
limit is exceeded) whose ``field`` names the request field, qualified with a path where that helps
(``values.image.tag``, ``set[2]``, ``set.image.tag``, ``values_files[1]``). Messages never echo more than a
short snippet of input.

The CLI holds no copy of these rules: it sends ``-f`` files as ``values_files`` texts and ``--set*`` as the raw
strings, and the service parses everything here.
"""

from __future__ import annotations

from chalicelib.domain.values.merge import MAX_FILE_NAME, combine, merge, parse_values_files
from chalicelib.domain.values.output import digest, to_helm_file
from chalicelib.domain.values.strvals import (
    MAX_INDEX,
    MAX_NESTED_NAME_LEVEL,
    SetKind,
    parse_path,
    parse_set,
    render_path,
    sensitive_paths,
)
from chalicelib.domain.values.tree import DEFAULT_LIMITS, JSONValue, Limits
from chalicelib.domain.values.yaml_dialect import FILE_REFUSED_TAGS, load_document, parse_values

__all__ = [
    "DEFAULT_LIMITS",
    "FILE_REFUSED_TAGS",
    "MAX_FILE_NAME",
    "MAX_INDEX",
    "MAX_NESTED_NAME_LEVEL",
    "JSONValue",
    "Limits",
    "SetKind",
    "combine",
    "digest",
    "load_document",
    "merge",
    "parse_path",
    "parse_set",
    "parse_values",
    "parse_values_files",
    "render_path",
    "sensitive_paths",
    "to_helm_file",
]
