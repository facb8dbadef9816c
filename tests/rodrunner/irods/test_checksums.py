"""rodrunner.irods.checksums: stored checksums read, local digests compared, replicas merged."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rodrunner.errors import PermanentIRODSError
from rodrunner.irods.checksums import (
    RemoteObject,
    digest_bytes,
    known_or_refuse,
    merge_replicas,
    scheme_from_hint,
    scheme_of_checksum,
    sha256_hex_from_irods,
    sha256_or_refuse,
)

DATA = b"rodrunner\n"
SHA = hashlib.sha256(DATA).hexdigest()
SHA2 = "sha2:" + base64.b64encode(hashlib.sha256(DATA).digest()).decode()
MD5 = hashlib.md5(DATA, usedforsecurity=False).hexdigest()


def test_both_stored_forms_are_read() -> None:
    """sha2:<base64> is SHA-256 hex, 32 hex digits (bare or md5:) are MD5, others neither."""
    assert scheme_of_checksum(SHA2) == "sha256"
    assert scheme_of_checksum(MD5) == "md5"
    assert scheme_of_checksum("md5:" + MD5.upper()) == "md5"
    assert scheme_of_checksum("sha512:abc") is None
    assert known_or_refuse(SHA2, "/z/f") == RemoteObject(size=-1, checksum=SHA)
    assert known_or_refuse(MD5, "/z/f") == RemoteObject(size=-1, checksum=None, md5=MD5)


def test_a_scheme_not_asked_for_is_refused_naming_the_path() -> None:
    """An MD5 where SHA-256 is needed, or an unknown scheme, is a permanent error with the fix."""
    assert sha256_or_refuse(SHA2, "/z/f") == SHA
    with pytest.raises(PermanentIRODSError, match="checksum_of") as md5:
        sha256_or_refuse(MD5, "/z/f")
    with pytest.raises(PermanentIRODSError, match="neither SHA-256 nor MD5") as other:
        known_or_refuse("sha512:abc", "/z/f")
    assert md5.value.name == other.value.name == "UNSUPPORTED_HASH_SCHEME"
    assert md5.value.path == "/z/f"


@given(st.text(max_size=60))
def test_any_stored_text_is_hex_or_none(value: str) -> None:
    """Any string in: None or 64 lowercase hex digits out, never an exception."""
    out = sha256_hex_from_irods(value)
    assert out is None or (len(out) == 64 and set(out) <= set("0123456789abcdef"))


def test_a_local_digest_matches_in_the_scheme_the_catalog_holds() -> None:
    """SHA-256 is compared when the catalog has it, else MD5; neither known: None."""
    both = digest_bytes(DATA, md5=True)
    assert both.matches(RemoteObject(len(DATA), SHA)) is True
    assert both.matches(RemoteObject(len(DATA), None, md5=MD5)) is True
    assert both.matches(RemoteObject(len(DATA), "0" * 64)) is False
    assert digest_bytes(DATA).matches(RemoteObject(len(DATA), None, md5=MD5)) is None
    assert both.matches(RemoteObject(len(DATA), None)) is None


def test_good_replicas_win_and_must_agree() -> None:
    """Stale replicas are ignored; good ones that disagree give no checksum (and size -1)."""
    merged = merge_replicas(
        {
            "same": [(10, SHA2, "1"), (10, SHA2, "1"), (3, "sha2:stale", "0")],
            "differ": [(10, SHA2, "1"), (11, MD5, "1")],
            "none_good": [(7, SHA2, "0"), (7, SHA2, "2")],
        }
    )
    assert merged["same"] == RemoteObject(10, SHA)
    assert merged["differ"] == RemoteObject(-1, None)
    assert merged["none_good"] == RemoteObject(7, None, good=False)
    assert not merged["differ"].has_checksum


@pytest.mark.parametrize(
    ("hint", "scheme"), [("SHA256", "sha256"), ("md5", "md5"), ("adler32", None), ("", None)]
)
def test_a_hash_scheme_hint_is_read_in_any_case(hint: str, scheme: str | None) -> None:
    """The server's hash_scheme hint names sha256 or md5 in any case; anything else is None."""
    assert scheme_from_hint(hint) == scheme
