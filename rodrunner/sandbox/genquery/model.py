"""The GenQuery1 vocabulary of the sandbox and the values between its steps. Pure data.

:data:`COLUMNS` maps each column number python-irodsclient sends (``irods.models``) to the
table alias it lives in and its SQL expression over the sandbox catalog; the option bits and
status codes are iRODS' own numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

CAT_NO_ROWS_FOUND = -808000
CAT_UNKNOWN_TABLE = -823000
CAT_INVALID_ARGUMENT = -816000
CAT_STATEMENT_TABLE_FULL = -860000
MAX_NUM_OF_CONCURRENT_STMTS = 50
INPUT_ARG_NOT_WELL_FORMED_ERR = CAT_INVALID_ARGUMENT

MAX_SQL_ATTR = 50
MIN_RESLEN = 50

# select option bits (irods/query.py query_number)
SELECT_MIN, SELECT_MAX, SELECT_SUM, SELECT_AVG, SELECT_COUNT = 2, 3, 4, 5, 6
ORDER_BY = 0x400
ORDER_BY_DESC = 0x800
# GenQueryInp options
RETURN_TOTAL_ROW_COUNT = 0x20
NO_DISTINCT = 0x40
AUTO_CLOSE = 0x100
UPPER_CASE_WHERE = 0x200

AGGREGATES = {
    SELECT_MIN: "min",
    SELECT_MAX: "max",
    SELECT_SUM: "sum",
    SELECT_AVG: "avg",
    SELECT_COUNT: "count",
}


@dataclass(frozen=True)
class Col:
    """One GenQuery column: the table alias it lives in, its SQL expression and its kind."""

    table: str
    expr: str
    kind: str = "str"  # str | int | time


# Table aliases: C colls, D data, DM/CM/UM meta of data/colls/users (through objt_meta),
# RM of resources, U users, R resources, Z the one zone.
COLUMNS: dict[int, Col] = {
    # Zone
    101: Col("Z", "Z.zone_id", "int"),
    102: Col("Z", "Z.zone_name"),
    103: Col("Z", "Z.zone_type"),
    # User
    201: Col("U", "U.user_id", "int"),
    202: Col("U", "U.user_name"),
    203: Col("U", "U.user_type_name"),
    204: Col("U", "U.zone_name"),
    206: Col("U", "U.user_info"),
    207: Col("U", "U.user_comment"),
    208: Col("U", "U.create_ts", "time"),
    209: Col("U", "U.modify_ts", "time"),
    # Group (users of type rodsgroup; the sandbox keeps no membership: every user is in public)
    900: Col("G", "G.user_id", "int"),
    901: Col("G", "G.user_name"),
    # Resource
    301: Col("R", "R.resc_id", "int"),
    302: Col("R", "R.resc_name"),
    303: Col("R", "R.zone_name"),
    304: Col("R", "R.resc_type_name"),
    305: Col("R", "'cache'"),
    306: Col("R", "R.resc_net"),
    307: Col("R", "R.resc_def_path"),
    308: Col("R", "''"),
    310: Col("R", "''"),
    311: Col("R", "R.create_ts", "time"),
    312: Col("R", "R.modify_ts", "time"),
    313: Col("R", "''"),
    314: Col("R", "''"),
    315: Col("R", "''"),
    316: Col("R", "''"),
    317: Col("R", "''"),
    318: Col("R", "''"),
    # DataObject
    401: Col("D", "D.data_id", "int"),
    402: Col("D", "D.coll_id", "int"),
    403: Col("D", "D.data_name"),
    404: Col("D", "D.data_repl_num", "int"),
    405: Col("D", "D.data_version"),
    406: Col("D", "D.data_type_name"),
    407: Col("D", "D.data_size", "int"),
    409: Col("D", "D.resc_name"),
    410: Col("D", "D.data_path"),
    411: Col("D", "D.data_owner_name"),
    412: Col("D", "D.data_owner_zone"),
    413: Col("D", "D.data_is_dirty", "int"),
    414: Col("D", "D.data_status"),
    415: Col("D", "D.data_checksum"),
    416: Col("D", "D.data_expiry_ts", "time"),
    417: Col("D", "D.data_map_id", "int"),
    418: Col("D", "D.data_comments"),
    419: Col("D", "D.create_ts", "time"),
    420: Col("D", "D.modify_ts", "time"),
    422: Col("D", "D.resc_hier"),
    423: Col("D", "D.resc_id", "int"),
    424: Col("D", "coalesce(D.access_ts, D.create_ts)", "time"),
    # Collection
    500: Col("C", "C.coll_id", "int"),
    501: Col("C", "C.coll_name"),
    502: Col("C", "C.parent_coll_name"),
    503: Col("C", "C.owner_name"),
    504: Col("C", "C.owner_zone"),
    505: Col("C", "'0'"),
    506: Col("C", "C.coll_inheritance"),
    507: Col("C", "C.coll_info2"),
    508: Col("C", "C.create_ts", "time"),
    509: Col("C", "C.modify_ts", "time"),
    # DataObjectMeta
    600: Col("DM", "DM.meta_attr_name"),
    601: Col("DM", "DM.meta_attr_value"),
    602: Col("DM", "DM.meta_attr_unit"),
    603: Col("DM", "DM.meta_id", "int"),
    604: Col("DM", "DM.create_ts", "time"),
    605: Col("DM", "DM.modify_ts", "time"),
    # CollectionMeta
    610: Col("CM", "CM.meta_attr_name"),
    611: Col("CM", "CM.meta_attr_value"),
    612: Col("CM", "CM.meta_attr_unit"),
    613: Col("CM", "CM.meta_id", "int"),
    614: Col("CM", "CM.create_ts", "time"),
    615: Col("CM", "CM.modify_ts", "time"),
    # ResourceMeta
    630: Col("RM", "RM.meta_attr_name"),
    631: Col("RM", "RM.meta_attr_value"),
    632: Col("RM", "RM.meta_attr_unit"),
    633: Col("RM", "RM.meta_id", "int"),
    634: Col("RM", "RM.create_ts", "time"),
    635: Col("RM", "RM.modify_ts", "time"),
    # UserMeta
    640: Col("UM", "UM.meta_attr_name"),
    641: Col("UM", "UM.meta_attr_value"),
    642: Col("UM", "UM.meta_attr_unit"),
    643: Col("UM", "UM.meta_id", "int"),
    644: Col("UM", "UM.create_ts", "time"),
    645: Col("UM", "UM.modify_ts", "time"),
}


@dataclass(frozen=True)
class Site:
    """The catalog facts that are not rows: the local zone."""

    zone: str = "tempZone"
    zone_id: int = 9000


@dataclass(frozen=True)
class GenQuery:
    """A parsed ``GenQueryInp_PI``."""

    select: tuple[tuple[int, int], ...]
    conditions: tuple[tuple[int, str], ...] = ()
    max_rows: int = 500
    continue_index: int = 0
    offset: int = 0
    options: int = 0
    keywords: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SqlQuery:
    """Parameterised SQL plus the GenQuery columns its result columns answer."""

    sql: str
    params: tuple[str, ...]
    columns: tuple[int, ...]
