"""Users and admin in the sandbox through the real python-irodsclient."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from irods import password_obfuscation as obf
from irods.exception import (
    CAT_INSUFFICIENT_PRIVILEGE_LEVEL,
    CAT_INVALID_AUTHENTICATION,
    CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME,
    UserDoesNotExist,
)
from irods.session import iRODSSession

from rodrunner.sandbox import SandboxInfo
from rodrunner.sandbox.admin import deobfuscate_v2, deobfuscate_with_key
from tests.conftest import sandbox_session

passwords = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=3, max_size=42
)


@given(new=passwords, old=passwords, signature=st.text("0123456789abcdef", min_size=32))
def test_v2_obfuscation_round_trips(new: str, old: str, signature: str) -> None:
    """A password obfuscated as iadmin/ipasswd do comes back exactly."""
    assert deobfuscate_v2(obf.obfuscate_new_password(new, old, signature), old, signature) == new


@given(new=passwords, key=passwords)
def test_keyed_obfuscation_round_trips(new: str, key: str) -> None:
    """A password obfuscated for mkuser comes back exactly."""
    assert deobfuscate_with_key(obf.obfuscate_new_password_with_key(new, key), key) == new


def login_works(info: SandboxInfo, user: str, password: str) -> bool:
    """Whether ``user`` can log in with ``password`` (and see its home)."""
    session = sandbox_session(info, user=user, password=password)
    try:
        session.collections.get(f"/{info.zone}/home/{user}")
    except CAT_INVALID_AUTHENTICATION:
        return False
    finally:
        session.cleanup()
    return True


def test_add_user_then_get(irods_session: iRODSSession) -> None:
    """users.create makes a user with its home collection; users.get finds it."""
    user = irods_session.users.create("alice", "rodsuser")
    assert (user.name, user.type, user.zone) == ("alice", "rodsuser", "tempZone")
    assert irods_session.collections.exists("/tempZone/home/alice")
    assert irods_session.users.get("alice").id == user.id


def test_add_existing_user_fails(irods_session: iRODSSession) -> None:
    """Creating a user twice raises CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME."""
    irods_session.users.create("bob", "rodsuser")
    with pytest.raises(CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME):
        irods_session.users.create("bob", "rodsuser")


def test_remove_user(irods_session: iRODSSession) -> None:
    """A removed user and its home are gone."""
    irods_session.users.create("carol", "rodsuser")
    irods_session.users.remove("carol")
    with pytest.raises(UserDoesNotExist):
        irods_session.users.get("carol")
    assert not irods_session.collections.exists("/tempZone/home/carol")


def test_admin_sets_password_then_login(
    irods_sandbox: SandboxInfo, irods_session: iRODSSession
) -> None:
    """A password set by the admin is the one that logs in; another fails."""
    irods_session.users.create("dave", "rodsuser")
    irods_session.users.modify("dave", "password", "s3cret-dave")
    assert login_works(irods_sandbox, "dave", "s3cret-dave")
    assert not login_works(irods_sandbox, "dave", "wrong")


def test_user_changes_own_password(irods_sandbox: SandboxInfo, irods_session: iRODSSession) -> None:
    """modify_password replaces the old password for later logins."""
    irods_session.users.create("erin", "rodsuser")
    irods_session.users.modify("erin", "password", "first-pw")
    erin = sandbox_session(irods_sandbox, user="erin", password="first-pw")
    try:
        erin.users.modify_password("first-pw", "second-pw")
    finally:
        erin.cleanup()
    assert login_works(irods_sandbox, "erin", "second-pw")
    assert not login_works(irods_sandbox, "erin", "first-pw")


def test_non_admin_cannot_add_users(
    irods_sandbox: SandboxInfo, irods_session: iRODSSession
) -> None:
    """A rodsuser asking for GENERAL_ADMIN gets CAT_INSUFFICIENT_PRIVILEGE_LEVEL."""
    irods_session.users.create("frank", "rodsuser")
    irods_session.users.modify("frank", "password", "frank-pw")
    frank = sandbox_session(irods_sandbox, user="frank", password="frank-pw")
    try:
        with pytest.raises(CAT_INSUFFICIENT_PRIVILEGE_LEVEL):
            frank.users.create("mallory", "rodsadmin")
    finally:
        frank.cleanup()


def test_modify_type_and_info(irods_session: iRODSSession) -> None:
    """modify changes a user's type and info."""
    irods_session.users.create("gina", "rodsuser")
    irods_session.users.modify("gina", "type", "rodsadmin")
    irods_session.users.modify("gina", "info", "sequencing")
    user = irods_session.users.get("gina")
    assert (user.type, user.info) == ("rodsadmin", "sequencing")
