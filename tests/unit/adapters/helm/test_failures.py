"""helm's stderr becomes a typed error with a message safe to show."""

from __future__ import annotations

import pytest

from chalicelib import errors
from chalicelib.adapters.helm.failures import classify


@pytest.mark.parametrize(
    ("stderr", "cls"),
    [
        ("Error: INSTALLATION FAILED: cannot re-use a name that is still in use", errors.ReleaseExists),
        ('Error: UPGRADE FAILED: "web" has no deployed releases', errors.ReleaseNotFound),
        ("Error: release: not found", errors.ReleaseNotFound),
        (
            'Error: Kubernetes cluster unreachable: Get "https://127.0.0.1:1/version": dial tcp: connection refused',
            errors.ClusterUnreachable,
        ),
        (
            "Error: tls: failed to verify certificate: x509: certificate signed by unknown authority",
            errors.ClusterUnreachable,
        ),
        ("Error: INSTALLATION FAILED: Unauthorized", errors.ClusterAuthFailed),
        ("Error: INSTALLATION FAILED: failed to fetch https://x/y.tgz : 404 Not Found", errors.ChartNotFound),
        ("Error: no chart version found for demo-^9", errors.ChartNotFound),
        ("Error: context deadline exceeded", errors.HelmTimeout),
        ("Error: INSTALLATION FAILED: timed out waiting for the condition", errors.HelmTimeout),
        ("Error: YAML parse error on demo/templates/x.yaml", errors.InvalidInput),
        ("Error: values don't meet the specifications of the schema(s)", errors.InvalidInput),
        ("Error: INSTALLATION FAILED: plugin crashed", errors.HelmError),
    ],
)
def test_classify(stderr: str, cls: type) -> None:
    err = classify("install", 1, stderr)
    assert type(err) is cls
    assert not str(err).startswith("Error: ")


def test_the_field_at_fault_is_named() -> None:
    values = classify("install", 1, "Error: execution error at (demo/templates/x.yaml:3): image is required")
    chart = classify("install", 1, "Error: unable to build kubernetes objects from release manifest: bad kind")
    assert isinstance(values, errors.InvalidInput) and values.field == "values"
    assert isinstance(chart, errors.InvalidInput) and chart.field == "chart"


def test_helm_errors_carry_the_exit_code_and_stderr() -> None:
    err = classify("upgrade", 3, "Error: plugin crashed")
    assert isinstance(err, errors.HelmError) and err.returncode == 3 and "plugin crashed" in err.stderr
    timeout = classify("upgrade", 1, "Error: context deadline exceeded")
    assert isinstance(timeout, errors.HelmTimeout) and timeout.returncode == 1


def test_an_empty_stderr_still_says_what_failed() -> None:
    assert str(classify("rollback", 7, "")) == "helm rollback failed with exit code 7"


def test_classify_redacts_urls_tokens_and_secret_values() -> None:
    err = classify(
        "install", 1, "Error: failed to fetch https://b.s3.amazonaws.com/c.tgz?X-Amz-Signature=abc with Bearer abc.def"
    )
    assert "X-Amz-Signature" not in str(err) and "abc.def" not in str(err)
    echoed = classify(
        "install",
        1,
        "Error: execution error at (x.yaml:1:2): password hunter2-secret is too short",
        ("hunter2-secret",),
    )
    assert "hunter2-secret" not in str(echoed)
