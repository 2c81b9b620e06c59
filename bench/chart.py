"""A realistic benchmark chart: a few ordinary objects whose rendered manifest is about ``kb`` KiB.

Real charts render tens of KiB (long ConfigMaps, verbose Deployments). Helm stores the chart *and* the rendered
manifest, gzipped, in one Secret per revision, and ``helm list`` reads and decodes every one of them, so the
size of a release matters as much as the number of releases. The ConfigMap's entries are pseudo-random config
lines from a seeded generator: deterministic, and about as compressible as real configuration text.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import yaml

NAME = "benchapp"
VERSION = "1.0.0"
WORDS = (
    "alpha beta gamma delta cache proxy upstream timeout retry backoff region zone shard replica leader "
    "follower queue topic partition consumer producer ledger invoice payment order cart search index token "
    "session cookie header route gateway ingress egress metric trace span sample budget quota limit burst "
    "window bucket rotate archive compress encrypt verify sign audit policy role grant scope tenant account"
).split()

SERVICEACCOUNT = """apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}-sa
  labels:
    app.kubernetes.io/name: benchapp
    app.kubernetes.io/instance: {{ .Release.Name }}
"""

SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-svc
  labels:
    app.kubernetes.io/name: benchapp
    app.kubernetes.io/instance: {{ .Release.Name }}
spec:
  selector:
    app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - name: http
      port: {{ .Values.port }}
      targetPort: http
      protocol: TCP
"""

DEPLOYMENT_HEAD = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-app
  labels:
    app.kubernetes.io/name: benchapp
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: {{ .Release.Name }}
      annotations:
        checksum/config: {{ .Values.revisionNote | sha256sum }}
    spec:
      serviceAccountName: {{ .Release.Name }}-sa
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          ports:
            - name: http
              containerPort: 8080
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 500m, memory: 256Mi}
          envFrom:
            - configMapRef:
                name: {{ .Release.Name }}-config
          env:
            - name: GREETING
              value: {{ .Values.greeting | quote }}
"""

CONFIGMAP_HEAD = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
  labels:
    app.kubernetes.io/name: benchapp
    app.kubernetes.io/instance: {{ .Release.Name }}
data:
  revision-note: {{ .Values.revisionNote | quote }}
"""

NOTES = "{{ .Release.Name }} ({{ .Chart.Name }} {{ .Chart.Version }}) says {{ .Values.greeting }}.\n"

DEFAULT_VALUES: dict[str, Any] = {
    "greeting": "hello",
    "replicas": 1,
    "port": 80,
    "revisionNote": "initial",
    "image": {"repository": "registry.example.com/benchapp", "tag": VERSION},
}


def _config_line(rng: random.Random, index: int) -> str:
    """One ``key: "value"`` ConfigMap line that looks like configuration (~80 bytes)."""
    key = f"{rng.choice(WORDS)}.{rng.choice(WORDS)}.{index:04d}"
    value = " ".join(rng.choice(WORDS) for _ in range(4)) + f" {rng.getrandbits(40):010x}"
    return f"  {key}: {json.dumps(value)}\n"


def _env_lines(rng: random.Random, count: int) -> str:
    """``count`` environment variables for the Deployment's container."""
    out = []
    for i in range(count):
        name = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{i}".upper()
        out.append(f"            - name: {name}\n              value: {json.dumps(rng.choice(WORDS) + str(i))}\n")
    return "".join(out)


def write_chart(root: Path, kb: int, seed: int = 42) -> Path:
    """Write the chart under ``root``; its rendered manifest is about ``kb`` KiB. Returns the chart directory."""
    rng = random.Random(seed)
    chart = root / NAME
    (chart / "templates").mkdir(parents=True, exist_ok=True)
    (chart / "Chart.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v2",
                "name": NAME,
                "version": VERSION,
                "appVersion": VERSION,
                "description": "benchmark chart",
            }
        )
    )
    (chart / "values.yaml").write_text(yaml.safe_dump(DEFAULT_VALUES))
    deployment = DEPLOYMENT_HEAD + _env_lines(rng, 40)
    fixed = len(SERVICEACCOUNT) + len(SERVICE) + len(deployment) + len(CONFIGMAP_HEAD)
    lines: list[str] = []
    size = fixed
    while size < kb * 1024:
        lines.append(_config_line(rng, len(lines)))
        size += len(lines[-1])
    files = {
        "serviceaccount.yaml": SERVICEACCOUNT,
        "service.yaml": SERVICE,
        "deployment.yaml": deployment,
        "configmap.yaml": CONFIGMAP_HEAD + "".join(lines),
        "NOTES.txt": NOTES,
    }
    for name, text in files.items():
        (chart / "templates" / name).write_text(text)
    return chart


def values(revision_note: str, greeting: str = "hello") -> dict[str, Any]:
    """The values a benchmark release is installed or upgraded with (the same for the API and the CLI)."""
    return {"greeting": greeting, "replicas": 2, "revisionNote": revision_note}
