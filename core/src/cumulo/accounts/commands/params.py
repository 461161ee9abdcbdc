"""Parameters several domain, account and user commands declare alike, with 4.1's
descriptions (request-params-4.1.tsv): the list parameters of ``BaseListCmd`` and
``BaseListDomainResourcesCmd``, and the user fields of ``createAccount``/``createUser``."""

from __future__ import annotations

from cumulo.sdk.api import Param, ParamType

LISTALL = Param(
    "listall",
    ParamType.BOOLEAN,
    description=(
        "If set to false, list only resources belonging to the command's caller; if set to"
        " true - list resources that the caller is authorized to see. Default value is false"
    ),
)
LIST_DOMAIN = Param(
    "domainid",
    ParamType.UUID,
    description="list only resources belonging to the domain specified",
    entity="Domain",
)
ISRECURSIVE = Param(
    "isrecursive",
    ParamType.BOOLEAN,
    description=(
        "defaults to false, but if true, lists all resources from the parent specified by"
        " the domainId till leaves."
    ),
)
PAGING = (
    Param("keyword", description="List by keyword"),
    Param("page", ParamType.INTEGER),
    Param("pagesize", ParamType.INTEGER),
)
"""``BaseListCmd``'s parameters, declared last as 4.1 lists them."""

TIMEZONE = Param(
    "timezone",
    description=(
        "Specifies a timezone for this command. For more information on the timezone"
        " parameter, see Time Zone Format."
    ),
)
PASSWORD = Param(
    "password",
    description=(
        "Hashed password (Default is MD5). If you wish to use any other hashing algorithm,"
        " you would need to write a custom authentication adapter See Docs section."
    ),
    required=True,
)
EMAIL = Param("email", description="email", required=True)
FIRSTNAME = Param("firstname", description="firstname", required=True)
LASTNAME = Param("lastname", description="lastname", required=True)
USERNAME = Param("username", description="Unique username.", required=True)
USERID = Param(
    "userid",
    description="User UUID, required for adding account from external provisioning system",
)
