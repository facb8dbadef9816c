"""python-irodsclient's own test suite, curated, against the sandbox.

The installed python-irodsclient ships its unittest suite as ``irods.test.*``. Each curated test
id below runs as one pytest item against a fresh sandbox: the client environment the suite
reads (``irods_environment.json`` and ``.irodsA`` under a temporary ``HOME``, plus
``IRODS_ENVIRONMENT_FILE``/``IRODS_AUTHENTICATION_FILE``) points at it, and the case is loaded
with unittest's loader from the installed package. Nothing of the suite is copied here.

What is left out, and why (the sandbox serves what an ingest and its tests need):

- resources: ``resources.remove``, resource hierarchies, ``trim``, ``replica_truncate`` (APIs
  802, 634...); the sandbox makes unixfilesystem resources and replicates (test_replicas.py
  covers that), but these cases also remove resources and put vaults under a shared ``/tmp``;
- group membership, quotas, group admins creating groups (``add group``/``modify group``,
  ``set-quota``): groups are only users of type ``rodsgroup``, every user is in ``public``;
- remote zones (zone_test, ``user#otherZone`` homes): one local zone only;
- tickets, ACLs, inheritance (access_test, ticket_test, ``modify_access``): no ACLs;
- rules and specific queries (rule_test, ``EXEC_MY_RULE`` 625, ``SPECIFIC_QUERY`` 722,
  ``RuleExec`` columns 1000+): no rule engine, no SQL aliases;
- ``touch`` (``TOUCH_APN`` 20007), ``register`` of server-side files (``DATA_OBJ_REG`` 630),
  copy (613), and tests marked for server-side or shared files, PAM, SSL setup scripts,
  temporary passwords, GenQuery2 and the ``_must_run_manually`` modules;
- ``message_test``: packs messages without a server, so it says nothing about the sandbox.
"""

from __future__ import annotations

import json
import unittest
from collections.abc import Iterator
from pathlib import Path

import pytest
from irods.password_obfuscation import encode

from rodrunner.sandbox import run_sandbox

CURATED: dict[str, list[str]] = {
    "admin_test": [
        "TestAdmin.test_create_delete_local_user",
        "TestAdmin.test_create_delete_user_zone",
        "TestAdmin.test_modify_user_type",
        "TestAdmin.test_modify_user_type_with_zone",
        "TestAdmin.test_set_user_comment",
        "TestAdmin.test_set_user_info",
        "TestAdmin.test_set_user_password",
    ],
    "collection_test": [
        "TestCollection.test_append_to_collection",
        "TestCollection.test_collection_metadata",
        "TestCollection.test_collection_with_trailing_slash__323",
        "TestCollection.test_concatenation__323",
        "TestCollection.test_create_recursive_collection",
        "TestCollection.test_get_collection",
        "TestCollection.test_irods_collection_information",
        "TestCollection.test_move_coll_to_coll",
        "TestCollection.test_object_paths_with_dot_and_dotdot__323",
        "TestCollection.test_remove_deep_collection",
        "TestCollection.test_remove_from_collection",
        "TestCollection.test_rename_collection",
        "TestCollection.test_repr_coll",
        "TestCollection.test_subcollections_member_excludes_root_collection__571",
        "TestCollection.test_touch_operation_does_not_create_new_collections__525",
        "TestCollection.test_update_in_collection",
        "TestCollection.test_walk_collection",
        "TestCollection.test_walk_collection_topdown",
    ],
    "connection_test": [
        "TestConnections.test_1_multiple_disconnect",
        "TestConnections.test_2_multiple_disconnect",
        "TestConnections.test_assigning_session_connection_timeout__issue_377",
        "TestConnections.test_assigning_session_connection_timeout_to_invalid_values__issue_569",
        "TestConnections.test_assigning_session_connection_timeout_to_large_values__issue_623",
        "TestConnections.test_connection",
        "TestConnections.test_connection_destructor",
        "TestConnections.test_connection_timeout_parameter_in_session_init__issue_377",
        "TestConnections.test_failed_connection",
        "TestConnections.test_legacy_auth_used_with_force_legacy_auth_configuration__issue_499",
        "TestConnections.test_reply_failure",
        "TestConnections.test_server_version_without_authentication__issue_688",
        "TestConnections.test_that_connection_timeout_works__issue_377",
    ],
    "data_obj_test": [
        "TestDataObjOps.test_access_time__issue_700",
        "TestDataObjOps.test_append_mode_will_append_to_data_object__issue_495",
        "TestDataObjOps.test_data_create_and_put_with_no_force_options_and_default_force_off__issue_132",
        "TestDataObjOps.test_data_object_download_error_leaves_no_file_relic__issue_681",
        "TestDataObjOps.test_data_objects_auto_close_on_function_exit__issue_456",
        "TestDataObjOps.test_data_objects_auto_close_on_process_exit__issue_456",
        "TestDataObjOps.test_force_get",
        "TestDataObjOps.test_force_put_options_resolve_correctly_observing_defaults__issue_132",
        "TestDataObjOps.test_force_unlink",
        "TestDataObjOps.test_get_collection_returns_a_reference_exclusively_to_an_existing_collection__issue_734",
        "TestDataObjOps.test_get_data_object_returns_a_reference_exclusively_to_an_existing_data_object__issue_734",
        "TestDataObjOps.test_invalid_get",
        "TestDataObjOps.test_mock_progress_bar_for_parallel_io__issue_574",
        "TestDataObjOps.test_multiple_reads",
        "TestDataObjOps.test_obj_does_not_exist",
        "TestDataObjOps.test_obj_exists",
        "TestDataObjOps.test_obj_put_get_large",
        "TestDataObjOps.test_obj_put_get_small",
        "TestDataObjOps.test_open_file_with_options",
        "TestDataObjOps.test_routine_verify_chksum_operation",
        "TestDataObjOps.test_setting_xml_parser_choice_by_environment_only__issue_584",
        "TestDataObjOps.test_settings_load_and_save_471",
        "TestDataObjOps.test_temporary_xml_mode_change_with_operation_as_proof__issue_586",
        "TestDataObjOps.test_temporary_xml_mode_changes_have_desired_thread_limited_effect__issue_586",
        "TestDataObjOps.test_touch_operation_does_not_work_when_given_a_collection__525",
    ],
    "meta_test": [
        "TestMeta.test_AVUs_populated_improperly_with_empties_or_nonstrings_fail_identically__issue_547",
        "TestMeta.test_add_coll_meta",
        "TestMeta.test_add_obj_meta",
        "TestMeta.test_add_obj_meta_empty",
        "TestMeta.test_atomic_metadata_json_error__issue_606",
        "TestMeta.test_atomic_metadata_operation_for_data_object_244",
        "TestMeta.test_atomic_metadata_operations_244",
        "TestMeta.test_atomic_metadata_operations_with_admin_kw__issue_576",
        "TestMeta.test_binary_avu_fields__issue_707",
        "TestMeta.test_bytestring_AVUs_in_Python3__issue_442",
        "TestMeta.test_cascading_changes_of_metadata_manager_options__issue_709",
        "TestMeta.test_copy_obj_meta",
        "TestMeta.test_empty_string_as_AVU_value_raises_an_error__issue_434",
        "TestMeta.test_get_obj_meta",
        "TestMeta.test_irodsmetacollection_data_obj",
        "TestMeta.test_meta_repr",
        "TestMeta.test_metadata_manipulations_with_admin_kw__364__365",
        "TestMeta.test_nonstring_as_AVU_value_raises_an_error__issue_434",
        "TestMeta.test_prevention_of_attribute_creation__issue_795",
        "TestMeta.test_reload_can_be_deactivated__issue_768",
        "TestMeta.test_remove_obj_meta",
        "TestMeta.test_resc_meta",
        "TestMeta.test_stringtypes_in_general_query__issue_442",
        "TestMeta.test_thoroughgoing_correctness_of_genquery_result_column_mappings__issue_642",
        "TestMeta.test_timestamp_access_386",
        "TestMeta.test_xml_mode_addresses_odd_metadata_characters__issue_582",
    ],
    "pool_test": [
        "TestPool.test_connection_create_time",
        "TestPool.test_connection_destructor_called",
        "TestPool.test_destroy_active",
        "TestPool.test_destroy_idle",
        "TestPool.test_get_connection_refresh_time",
        "TestPool.test_get_connection_refresh_time_negative_connection_refresh_field",
        "TestPool.test_get_connection_refresh_time_no_connection_refresh_field",
        "TestPool.test_get_connection_refresh_time_no_env_file_input_param",
        "TestPool.test_get_connection_refresh_time_none_existant_env_file",
        "TestPool.test_no_refresh_connection",
        "TestPool.test_refresh_connection",
        "TestPool.test_release_connection",
        "TestPool.test_release_disconnected",
    ],
    "query_test": [
        "TestQuery.test_collections_query",
        "TestQuery.test_files_query",
        "TestQuery.test_files_query_case_insensitive",
        "TestQuery.test_files_query_case_sensitive",
        "TestQuery.test_multiple_criteria_on_one_column_name",
        "TestQuery.test_negating_columns_in_genquery1_results__issue_755",
        "TestQuery.test_not_like_operator__issue_443",
        "TestQuery.test_paging_get_batches_and_check_paging__166",
        "TestQuery.test_paging_get_results__166",
        "TestQuery.test_query_first",
        "TestQuery.test_query_first__166",
        "TestQuery.test_query_on_AVU_times",
        "TestQuery.test_query_one",
        "TestQuery.test_query_one__166",
        "TestQuery.test_query_one_iter__166",
        "TestQuery.test_query_order_by",
        "TestQuery.test_query_order_by_col_not_in_result__183",
        "TestQuery.test_query_order_by_desc",
        "TestQuery.test_query_order_by_invalid_param",
        "TestQuery.test_query_with_between_condition",
        "TestQuery.test_query_with_in_condition",
        "TestQuery.test_query_with_like_condition",
        "TestQuery.test_query_wrong_type",
        "TestQuery.test_resources_query",
        "TestQuery.test_set_query_limit__issue_712",
        "TestQuery.test_simultaneous_multiple_AVU_joins",
        "TestQuery.test_users_query",
        "TestQuery.test_utf8_equality_in_query__issue_442",
    ],
    "unicode_test": [
        "TestUnicodeNames.test_files",
        "TestUnicodeNames.test_object_name_containing_unicode__318",
    ],
    "user_group_test": [
        "TestUserAndGroup.test_add_user_metadata",
        "TestUserAndGroup.test_demonstrating_database_password_corruption_in_modify_password__issue_448",
        "TestUserAndGroup.test_get_user_metadata",
        "TestUserAndGroup.test_group_admin_can_create_users__issue_428",
        "TestUserAndGroup.test_modify_password__328",
        "TestUserAndGroup.test_modify_password_with_changing_auth_file__328",
        "TestUserAndGroup.test_modify_password_with_incorrect_old_value__issue_328",
        "TestUserAndGroup.test_modifying_password_at_various_lengths__issue_328",
        "TestUserAndGroup.test_password_corruption_can_be_prevented__issue_448",
        "TestUserAndGroup.test_we_cannot_overwrite_irodsA_without_overwrite_option_true__issue_635",
    ],
}

# Cases that take more than a few seconds (large transfers, timeouts, many objects).
SLOW = {
    "query_test.TestQuery.test_paging_get_batches_and_check_paging__166",
    "query_test.TestQuery.test_paging_get_results__166",
    "query_test.TestQuery.test_query_one__166",
    "pool_test.TestPool.test_connection_destructor_called",
    "pool_test.TestPool.test_refresh_connection",
    "meta_test.TestMeta.test_timestamp_access_386",
}

CASES = [
    pytest.param(
        f"irods.test.{module}.{case}",
        id=f"{module}.{case.rsplit('.', 1)[-1]}",
        marks=[pytest.mark.slow] if f"{module}.{case}" in SLOW else [],
    )
    for module, cases in CURATED.items()
    for case in cases
]


@pytest.fixture
def prc_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A running sandbox and the client environment files python-irodsclient's tests read."""
    home = tmp_path / "home"
    irods_dir = home / ".irods"
    irods_dir.mkdir(parents=True)
    with run_sandbox(tmp_path / "sandbox") as info:
        env_file = irods_dir / "irods_environment.json"
        env_file.write_text(
            json.dumps(
                {
                    "irods_host": info.host,
                    "irods_port": info.port,
                    "irods_user_name": info.user,
                    "irods_zone_name": info.zone,
                }
            )
        )
        auth_file = irods_dir / ".irodsA"
        auth_file.write_text(encode(info.password.get_secret_value()))
        auth_file.chmod(0o600)
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.setenv("IRODS_ENVIRONMENT_FILE", str(env_file))
        monkeypatch.setenv("IRODS_AUTHENTICATION_FILE", str(auth_file))
        yield home


def test_curated_list_is_large_enough() -> None:
    """At least 60 of python-irodsclient's own tests are in the conformance gate."""
    assert len(CASES) >= 60


@pytest.mark.parametrize("test_id", CASES)
def test_prc_case(prc_environment: Path, test_id: str) -> None:
    """python-irodsclient's own test case passes against the sandbox."""
    suite = unittest.defaultTestLoader.loadTestsFromName(test_id)
    result = unittest.TestResult()
    suite.run(result)
    problems = [text for _, text in result.errors + result.failures]
    skipped = [reason for _, reason in result.skipped]
    assert not problems, "\n".join(problems)
    assert not skipped, f"{test_id} was skipped: {skipped}"
    assert result.testsRun == 1
