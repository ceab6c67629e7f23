"""Schemathesis over the dashboard's OpenAPI spec: no 5xx, every status and body as the spec says."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")

from dashboard_support import fill_storage  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import checks  # noqa: E402

from tunesmith.dashboard import create_app  # noqa: E402


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> object:
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'spec.db'}"
    fill_storage(url, n_trials=6)
    return create_app(url)  # read-only: the writes answer 403, as documented


def test_api_conforms_to_its_spec(app: object) -> None:
    # events: an endless stream, checked by test_api_events instead
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    checked = [op for op in operations if not op.path.endswith("/events")]
    assert len(checked) >= 10
    for operation in checked:

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def conforms(case: object) -> None:
            # Excluded: "schema-valid data is accepted": a sort key or parameter name must also exist in
            # the study, which a schema cannot say; such requests get a documented 400 instead.
            case.call_and_validate(excluded_checks=[checks.positive_data_acceptance])  # type: ignore[attr-defined]

        conforms()
