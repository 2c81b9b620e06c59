"""Route modules are tested through ``chalice.test.Client`` with the service wired as in tests/functional (AWS
emulated by moto, helm and Git faked): the same ``api`` fixture."""

from tests.functional.conftest import Api, api, aws, client, git, helm  # noqa: F401
