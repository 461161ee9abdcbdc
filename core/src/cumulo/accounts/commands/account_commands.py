"""The 4.1 account commands: createAccount, updateAccount, deleteAccount (async),
disableAccount (async), enableAccount, lockAccount, listAccounts and
markDefaultZoneForAccount (async)."""

from __future__ import annotations

from cumulo.accounts import account_service, views
from cumulo.accounts.account_listing import details_of, list_accounts, users_of
from cumulo.accounts.commands import params
from cumulo.accounts.commands.support import (
    account_fields,
    account_param,
    domain_param,
    encode_password,
    paging,
)
from cumulo.accounts.lookup import find_account
from cumulo.accounts.models import Account
from cumulo.accounts.validation import details_map
from cumulo.infra.lookup import find_zone
from cumulo.sdk.api import (
    ALL_ROLES,
    ANY_ADMIN,
    Call,
    Command,
    ListResult,
    ObjectResult,
    Param,
    ParamType,
    Role,
    SuccessResult,
)

_DETAILS = "details for account used to store specific parameters"


def account_result(call: Call, account: Account) -> ObjectResult:
    """``account`` with its users and details, as the single ``account`` object."""
    users = users_of(call.session, [account.id]).get(account.id, [])
    details = details_of(call.session, [account.id]).get(account.id)
    return ObjectResult("account", account_fields(call, account, account.domain, users, details))


def _named_account(call: Call) -> Account:
    # 4.1: by ``id``, or by ``account`` within ``domainid``.
    return account_service.find_account_by_name_or_id(
        call.session,
        account=account_param(call),
        name=call.get("account"),
        domain=domain_param(call),
    )


def _create_account(call: Call) -> ObjectResult:
    details = details_map(call.get("accountdetails"))
    account, user = account_service.create_account(
        call.ctx,
        call.session,
        encode_password=lambda password: encode_password(call, password),
        username=call.params["username"],
        password=call.params["password"],
        email=call.params["email"],
        firstname=call.params["firstname"],
        lastname=call.params["lastname"],
        account_type=call.params["accounttype"],
        domain=domain_param(call),
        account_name=call.get("account"),
        network_domain=call.get("networkdomain"),
        timezone=call.get("timezone"),
        details=details,
        account_uuid=call.get("accountid"),
        user_uuid=call.get("userid"),
    )
    fields = account_fields(call, account, account.domain, [user], details)
    return ObjectResult("account", fields)


def _update_account(call: Call) -> ObjectResult:
    account = account_service.update_account(
        call.ctx,
        call.session,
        _named_account(call),
        new_name=call.params["newname"],
        network_domain=call.get("networkdomain"),
        details=details_map(call.get("accountdetails")),
    )
    return account_result(call, account)


def _delete_account(call: Call) -> SuccessResult:
    account = find_account(call.session, call.params["id"])
    account_service.delete_account(call.ctx, call.session, account)
    return SuccessResult()


def _disable_account(call: Call) -> ObjectResult:
    account = account_service.disable_account(
        call.ctx, call.session, _named_account(call), lock=bool(call.params["lock"])
    )
    return account_result(call, account)


def _enable_account(call: Call) -> ObjectResult:
    account = account_service.enable_account(call.ctx, call.session, _named_account(call))
    return account_result(call, account)


def _lock_account(call: Call) -> ObjectResult:
    account = account_service.disable_account(
        call.ctx, call.session, _named_account(call), lock=True
    )
    return account_result(call, account)


def _list_accounts(call: Call) -> ListResult:
    page = list_accounts(
        call.ctx,
        call.session,
        account=account_param(call),
        domain=domain_param(call),
        name=call.get("name"),
        account_type=call.get("accounttype"),
        state=call.get("state"),
        cleanup_required=call.get("iscleanuprequired"),
        keyword=call.get("keyword"),
        listall=bool(call.get("listall", False)),
        isrecursive=bool(call.get("isrecursive", False)),
        **paging(call),
    )
    items = [
        account_fields(
            call,
            account,
            domain,
            page.users.get(account.id, []),
            page.details.get(account.id),
        )
        for account, domain in page.rows
    ]
    return ListResult("account", items, page.total)


def _mark_default_zone(call: Call) -> ObjectResult:
    # 4.1 resolves every id before running the command, in declaration order: the
    # account (within its domain), then the zone.
    account = _named_account(call)
    zone = find_zone(call.session, call.params["zoneid"], "zoneid")
    account = account_service.mark_default_zone(call.ctx, call.session, account, zone.id, zone.uuid)
    return account_result(call, account)


_ACCOUNT_BY_NAME = (
    Param("id", ParamType.UUID, description="Account id", entity="Account"),
    Param("account", description="{verb} specified account."),
    Param(
        "domainid",
        ParamType.UUID,
        description="{verb} specified account in this domain.",
        entity="Domain",
    ),
)


def _by_name(verb: str) -> tuple[Param, ...]:
    return tuple(
        Param(p.name, p.type, description=p.description.format(verb=verb), entity=p.entity)
        for p in _ACCOUNT_BY_NAME
    )


COMMANDS = (
    Command(
        name="createAccount",
        handler=_create_account,
        params=(
            Param(
                "account",
                description=(
                    "Creates the user under the specified account. If no account is"
                    " specified, the username will be used as the account name."
                ),
            ),
            Param(
                "accounttype",
                ParamType.SHORT,
                description=(
                    "Type of the account.  Specify 0 for user, 1 for root admin, and 2 for"
                    " domain admin"
                ),
                required=True,
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description="Creates the user under the specified domain.",
                entity="Domain",
            ),
            params.EMAIL,
            params.FIRSTNAME,
            params.LASTNAME,
            params.PASSWORD,
            params.TIMEZONE,
            params.USERNAME,
            Param("networkdomain", description="Network domain for the account's networks"),
            Param("accountdetails", ParamType.MAP, description=_DETAILS),
            Param(
                "accountid",
                description=(
                    "Account UUID, required for adding account from external provisioning system"
                ),
            ),
            params.USERID,
        ),
        roles=Role.ADMIN | Role.RESOURCE_ADMIN,
        response_name="createaccountresponse",
        response_class="AccountResponse",
        response_fields=views.ACCOUNT_FIELDS,
        description="Creates an account",
        related=(
            "updateAccount",
            "disableAccount",
            "enableAccount",
            "lockAccount",
            "listAccounts",
            "markDefaultZoneForAccount",
        ),
        java_class="org.apache.cloudstack.api.command.admin.account.CreateAccountCmd",
        event_type="ACCOUNT.CREATE",
    ),
    Command(
        name="updateAccount",
        handler=_update_account,
        params=(
            Param("id", ParamType.UUID, description="Account id", entity="Account"),
            Param("account", description="the current account name"),
            Param(
                "domainid",
                ParamType.UUID,
                description="the ID of the domain where the account exists",
                entity="Domain",
            ),
            Param("newname", description="new name for the account", required=True),
            Param(
                "networkdomain",
                description=(
                    "Network domain for the account's networks; empty string will update"
                    " domainName with NULL value"
                ),
            ),
            Param("accountdetails", ParamType.MAP, description=_DETAILS),
        ),
        roles=Role.ADMIN | Role.RESOURCE_ADMIN,
        response_name="updateaccountresponse",
        response_class="AccountResponse",
        response_fields=views.ACCOUNT_FIELDS,
        description="Updates account information for the authenticated user",
        related=("lockAccount", "listAccounts", "markDefaultZoneForAccount"),
        java_class="org.apache.cloudstack.api.command.admin.account.UpdateAccountCmd",
        event_type="ACCOUNT.UPDATE",
    ),
    Command(
        name="deleteAccount",
        handler=_delete_account,
        params=(
            Param("id", ParamType.UUID, description="Account id", required=True, entity="Account"),
        ),
        roles=Role.ADMIN | Role.RESOURCE_ADMIN,
        is_async=True,
        response_name="deleteaccountresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes a account, and all users associated with this account",
        java_class="org.apache.cloudstack.api.command.admin.account.DeleteAccountCmd",
        instance_type="Account",
        event_type="ACCOUNT.DELETE",
    ),
    Command(
        name="disableAccount",
        handler=_disable_account,
        params=(
            *_by_name("Disables"),
            Param(
                "lock",
                ParamType.BOOLEAN,
                description="If true, only lock the account; else disable the account",
                required=True,
            ),
        ),
        roles=ANY_ADMIN,
        is_async=True,
        response_name="disableaccountresponse",
        response_class="AccountResponse",
        response_fields=views.ACCOUNT_FIELDS,
        description="Disables an account",
        related=("updateAccount", "lockAccount", "listAccounts", "markDefaultZoneForAccount"),
        java_class="org.apache.cloudstack.api.command.admin.account.DisableAccountCmd",
        instance_type="Account",
        event_type="ACCOUNT.DISABLE",
    ),
    Command(
        name="enableAccount",
        handler=_enable_account,
        params=_by_name("Enables"),
        roles=ANY_ADMIN,
        response_name="enableaccountresponse",
        response_class="AccountResponse",
        response_fields=views.ACCOUNT_FIELDS,
        description="Enables an account",
        related=(
            "updateAccount",
            "disableAccount",
            "lockAccount",
            "listAccounts",
            "markDefaultZoneForAccount",
        ),
        java_class="org.apache.cloudstack.api.command.admin.account.EnableAccountCmd",
        event_type="ACCOUNT.ENABLE",
    ),
    Command(
        name="lockAccount",
        handler=_lock_account,
        params=(
            Param("account", description="Locks the specified account.", required=True),
            Param(
                "domainid",
                ParamType.UUID,
                description="Locks the specified account on this domain.",
                required=True,
                entity="Domain",
            ),
        ),
        roles=ANY_ADMIN,
        response_name="lockaccountresponse",
        response_class="AccountResponse",
        response_fields=views.ACCOUNT_FIELDS,
        description="Locks an account",
        related=("markDefaultZoneForAccount",),
        java_class="org.apache.cloudstack.api.command.admin.account.LockAccountCmd",
        event_type="ACCOUNT.DISABLE",
    ),
    Command(
        name="listAccounts",
        handler=_list_accounts,
        params=(
            Param(
                "accounttype",
                ParamType.LONG,
                description=(
                    "list accounts by account type. Valid account types are 1 (admin), 2"
                    " (domain-admin), and 0 (user)."
                ),
            ),
            Param("id", ParamType.UUID, description="list account by account ID", entity="Account"),
            Param(
                "iscleanuprequired",
                ParamType.BOOLEAN,
                description="list accounts by cleanuprequred attribute (values are true or false)",
            ),
            Param("name", description="list account by account name"),
            Param(
                "state",
                description=(
                    "list accounts by state. Valid states are enabled, disabled, and locked."
                ),
            ),
            params.LISTALL,
            params.LIST_DOMAIN,
            params.ISRECURSIVE,
            *params.PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listaccountsresponse",
        response_class="AccountResponse",
        response_fields=views.ACCOUNT_FIELDS,
        description=(
            "Lists accounts and provides detailed account information for listed accounts"
        ),
        related=("lockAccount", "markDefaultZoneForAccount"),
        java_class="org.apache.cloudstack.api.command.user.account.ListAccountsCmd",
    ),
    Command(
        name="markDefaultZoneForAccount",
        handler=_mark_default_zone,
        params=(
            Param(
                "account",
                description="Name of the account that is to be marked.",
                required=True,
                entity="Account",
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description="Marks the account that belongs to the specified domain.",
                required=True,
                entity="Domain",
            ),
            Param(
                "zoneid",
                ParamType.UUID,
                description="The Zone ID with which the account is to be marked.",
                required=True,
                entity="Zone",
            ),
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="markdefaultzoneforaccountresponse",
        response_class="AccountResponse",
        response_fields=views.ACCOUNT_FIELDS,
        description="Marks a default zone for this account",
        since="4.0",
        java_class="org.apache.cloudstack.api.command.admin.zone.MarkDefaultZoneForAccountCmd",
        instance_type="Account",
        event_type="ACCOUNT.MARK.DEFAULT.ZONE",
    ),
)
