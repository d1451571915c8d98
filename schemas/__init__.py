"""mockfleet's data model: Mockoon environments, migrations, cloud rules and messages.

Depends on nothing else of ours; every other package imports it.
"""

from .decode import decode_environment, encode_environment, environment_from_obj, load_json
from .environment import HIGHEST_MIGRATION, Environment, Route, RouteResponse
from .errors import NeedsRepair, SchemaError, UnsupportedSchemaVersion
from .migrations import MigrationReport, migrate
from .repair import Repair, repair_environment

__all__ = [
    "HIGHEST_MIGRATION",
    "Environment",
    "MigrationReport",
    "NeedsRepair",
    "Repair",
    "Route",
    "RouteResponse",
    "SchemaError",
    "UnsupportedSchemaVersion",
    "decode_environment",
    "encode_environment",
    "environment_from_obj",
    "load_json",
    "migrate",
    "repair_environment",
]
