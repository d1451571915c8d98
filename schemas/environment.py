"""The Mockoon environment data model as of ``lastMigration`` 33.

Field names map to Mockoon's camelCase JSON; missing fields take Mockoon's defaults
(``environment-schema.constants.ts``) and unknown fields are ignored, as Mockoon's
repairing loader strips them.
"""

from __future__ import annotations

import uuid as _uuid
from typing import Literal

import msgspec

HIGHEST_MIGRATION = 33

Method = Literal[
    "all",
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
    "propfind",
    "proppatch",
    "move",
    "copy",
    "mkcol",
    "lock",
    "unlock",
]
CallbackMethod = Literal[
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
    "propfind",
    "proppatch",
    "move",
    "copy",
    "mkcol",
    "lock",
    "unlock",
]
BodyType = Literal["INLINE", "FILE", "DATABUCKET"]
ResponseMode = Literal["RANDOM", "SEQUENTIAL", "DISABLE_RULES", "FALLBACK"]
StreamingMode = Literal["UNICAST", "BROADCAST"]
LogicalOperator = Literal["AND", "OR"]
RouteType = Literal["http", "crud", "ws"]
RuleTarget = Literal[
    "body",
    "query",
    "header",
    "cookie",
    "params",
    "path",
    "method",
    "request_number",
    "global_var",
    "data_bucket",
    "templating",
]
RuleOperator = Literal[
    "equals", "regex", "regex_i", "null", "empty_array", "array_includes", "valid_json_schema"
]
TLSType = Literal["CERT", "PFX"]
FolderChildType = Literal["route", "folder"]

# Response modes in which rules are not evaluated at all.
RULES_DISABLING_MODES: frozenset[str] = frozenset({"RANDOM", "SEQUENTIAL", "DISABLE_RULES"})


def new_uuid() -> str:
    return str(_uuid.uuid4())


class _Model(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=False):
    """Base for every model struct: camelCase on the wire, keyword-only construction."""


class Header(_Model):
    key: str = ""
    value: str = ""


class DataBucket(_Model):
    uuid: str = msgspec.field(default_factory=new_uuid)
    id: str = ""
    name: str = "New data"
    documentation: str = ""
    value: str = "[\n]"


class Callback(_Model):
    uuid: str = msgspec.field(default_factory=new_uuid)
    id: str = ""
    name: str = "Callback"
    documentation: str = ""
    method: CallbackMethod = "post"
    uri: str = ""
    headers: list[Header] = msgspec.field(default_factory=list)
    body: str = ""
    body_type: BodyType = "INLINE"
    databucket_id: str = msgspec.field(default="", name="databucketID")
    file_path: str = ""
    send_file_as_body: bool = True


class CallbackInvocation(_Model):
    uuid: str = ""
    latency: int = 0


class TLSOptions(_Model):
    enabled: bool = False
    type: TLSType = "CERT"
    pfx_path: str = ""
    cert_path: str = ""
    key_path: str = ""
    ca_path: str = ""
    passphrase: str = ""


class ResponseRule(_Model):
    target: RuleTarget = "body"
    modifier: str = ""
    value: str = ""
    invert: bool = False
    operator: RuleOperator = "equals"


class RouteResponse(_Model):
    uuid: str = msgspec.field(default_factory=new_uuid)
    rules: list[ResponseRule] = msgspec.field(default_factory=list)
    rules_operator: LogicalOperator = "OR"
    status_code: int = 200
    label: str = ""
    headers: list[Header] = msgspec.field(default_factory=list)
    body: str = "{}"
    latency: int = 0
    body_type: BodyType = "INLINE"
    file_path: str = ""
    databucket_id: str = msgspec.field(default="", name="databucketID")
    send_file_as_body: bool = False
    disable_templating: bool = False
    fallback_to404: bool = msgspec.field(default=False, name="fallbackTo404")
    default: bool = False
    crud_key: str = "id"
    callbacks: list[CallbackInvocation] = msgspec.field(default_factory=list)


class Route(_Model):
    uuid: str = msgspec.field(default_factory=new_uuid)
    type: RouteType = "http"
    documentation: str = ""
    method: Method | Literal[""] = "get"
    endpoint: str = ""
    responses: list[RouteResponse] = msgspec.field(default_factory=list)
    response_mode: ResponseMode | None = None
    streaming_mode: StreamingMode | None = None
    streaming_interval: int = 0


class FolderChild(_Model):
    type: FolderChildType
    uuid: str


class Folder(_Model):
    uuid: str = msgspec.field(default_factory=new_uuid)
    name: str = "New folder"
    children: list[FolderChild] = msgspec.field(default_factory=list)


class Environment(_Model):
    uuid: str = msgspec.field(default_factory=new_uuid)
    last_migration: int = HIGHEST_MIGRATION
    name: str = "New environment"
    port: int = 3000
    hostname: str = ""
    endpoint_prefix: str = ""
    latency: int = 0
    folders: list[Folder] = msgspec.field(default_factory=list)
    routes: list[Route] = msgspec.field(default_factory=list)
    root_children: list[FolderChild] = msgspec.field(default_factory=list)
    proxy_mode: bool = False
    proxy_remove_prefix: bool = False
    proxy_host: str = ""
    proxy_req_headers: list[Header] = msgspec.field(default_factory=list)
    proxy_res_headers: list[Header] = msgspec.field(default_factory=list)
    tls_options: TLSOptions = msgspec.field(default_factory=TLSOptions)
    cors: bool = True
    headers: list[Header] = msgspec.field(default_factory=list)
    data: list[DataBucket] = msgspec.field(default_factory=list)
    callbacks: list[Callback] = msgspec.field(default_factory=list)
