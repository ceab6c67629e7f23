"""Study user attributes: through the Study, refused on a read-only storage, kept by a reopen."""

from __future__ import annotations

import pytest

import tunesmith
from tunesmith.exceptions import StorageError
from tunesmith.storage import get_storage


def test_study_user_attrs_round_trip_and_read_only(sqlite_url: str) -> None:
    study = tunesmith.create_study("s", sqlite_url)
    assert study.user_attrs == {}
    study.set_user_attr("notes", "try a lower lr")
    study.set_user_attr("owner", {"team": "a"})
    again = tunesmith.load_study("s", sqlite_url)
    assert again.user_attrs == {"notes": "try a lower lr", "owner": {"team": "a"}}
    assert again.storage.get_study("s").settings == study.storage.get_study("s").settings  # settings untouched
    read_only = get_storage(sqlite_url, read_only=True)
    with pytest.raises(StorageError, match="read-only"):
        read_only.set_study_user_attr(again.study_id, "notes", "x")
    assert read_only.get_study("s").user_attrs["notes"] == "try a lower lr"


def test_in_memory_study_user_attrs() -> None:
    study = tunesmith.create_study()
    study.set_user_attr("notes", "n")
    attrs = study.user_attrs
    attrs["notes"] = "changed"  # a copy
    assert study.user_attrs == {"notes": "n"}
