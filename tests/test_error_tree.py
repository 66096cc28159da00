"""The error tree: every class drawn in errors.py, one code per class, paths only when given."""

from __future__ import annotations

import re

import pytest

import reactor.errors
from reactor.auth import normalize_identity
from reactor.database.committer import WriteConflict
from reactor.database.query import decode_cursor
from reactor.errors import ReactorError, ValidationError
from reactor.ops.documents import ReadOnlyTable, UnknownTable
from reactor.ops.schema_push import PushRefused
from reactor.persistence.errors import DatabaseInUse, DiskFull, LeaseLost, StorageUnavailable
from reactor.platform.file_storage import BadUploadToken, UploadError, UploadUrlExpired

SUBCLASSES = [
    PushRefused,
    UnknownTable,
    ReadOnlyTable,
    WriteConflict,
    UploadError,
    BadUploadToken,
    UploadUrlExpired,
    StorageUnavailable,
    DiskFull,
    LeaseLost,
    DatabaseInUse,
]


def _drawn() -> set[str]:
    doc = reactor.errors.__doc__ or ""
    return set(re.findall(r"[├└]── (\w+)", doc)) | {"ReactorError"}


def test_every_error_class_is_drawn_in_the_tree() -> None:
    public = {n for n in reactor.errors.__all__ if n != "public_message"}
    names = public | {cls.__name__ for cls in SUBCLASSES}
    assert names - _drawn() == set()


def test_codes_belong_to_classes_not_instances() -> None:
    for cls in SUBCLASSES:
        assert issubclass(cls, ReactorError)
        assert "code" in vars(cls) or cls in (PushRefused, WriteConflict), cls
    upload_codes = {cls.code for cls in (UploadError, BadUploadToken, UploadUrlExpired)}
    assert upload_codes == {"BadUpload", "BadUploadToken", "UploadUrlExpired"}
    error = BadUploadToken("missing or malformed upload token")
    assert error.code == "BadUploadToken" and "code" not in vars(error)


def test_a_path_is_named_only_when_given() -> None:
    assert str(ValidationError("expected string", "$.a")) == "expected string at $.a"
    plain = ValidationError("the job already finished")
    assert str(plain) == "the job already finished" and plain.path is None
    with pytest.raises(ValidationError) as info:
        decode_cursor("zz")
    assert not str(info.value).endswith(" at $"), str(info.value)


def test_a_bad_identity_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="identity must be a dict"):
        normalize_identity("alice")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="subject"):
        normalize_identity({"name": "no subject"})
    assert normalize_identity({"sub": "u1"}) == {
        "sub": "u1",
        "subject": "u1",
        "issuer": "reactor",
        "token_identifier": "reactor|u1",
    }
