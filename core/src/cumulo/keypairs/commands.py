"""The 4.1 SSH key pair commands: createSSHKeyPair, registerSSHKeyPair,
listSSHKeyPairs and deleteSSHKeyPair (``cumulo.keypairs.commands`` is in
``BUILTIN_PLUGINS``). ``resetSSHKeyForVirtualMachine`` belongs to the VM commands; it
reads keys through :func:`cumulo.keypairs.lookup.public_key_for`.

Object names are 4.1's, which clients read: ``keypair`` for a created or registered
pair, ``sshkeypair`` for the items of a list.
"""

from __future__ import annotations

from cumulo import hookimpl
from cumulo.accounts.access import check_list_scope
from cumulo.accounts.commands import params
from cumulo.accounts.commands.support import domain_param, paging
from cumulo.accounts.lookup import invalid_id
from cumulo.accounts.models import Account
from cumulo.keypairs import service
from cumulo.keypairs.owner import finalize_owner
from cumulo.sdk.api import (
    ALL_ROLES,
    Call,
    Command,
    Fields,
    ListResult,
    ObjectResult,
    Param,
    ParamType,
    SuccessResult,
)

FIELDS = ("name", "fingerprint", "privatekey")


def _no_projects(call: Call) -> None:
    # cumulo has no projects yet: any project id names nothing.
    if call.get("projectid") is not None:
        raise invalid_id("projectid", call.get("projectid"))


def _owner(call: Call) -> Account:
    _no_projects(call)
    return finalize_owner(call.ctx, call.session, call.get("account"), domain_param(call))


def _created(created: service.Created) -> ObjectResult:
    fields: Fields = {
        "name": created.name,
        "fingerprint": created.fingerprint,
        "privatekey": created.private_key,
    }
    return ObjectResult("keypair", fields)


def _create(call: Call) -> ObjectResult:
    owner = _owner(call)
    return _created(service.create_keypair(call.ctx, call.session, owner, call.params["name"]))


def _register(call: Call) -> ObjectResult:
    owner = _owner(call)
    created = service.register_keypair(
        call.ctx, call.session, owner, call.params["name"], call.params["publickey"]
    )
    return _created(created)


def _delete(call: Call) -> SuccessResult:
    owner = _owner(call)
    service.delete_keypair(call.ctx, call.session, owner, call.params["name"])
    return SuccessResult()


def _list(call: Call) -> ListResult:
    if call.get("projectid") is not None:
        if call.get("projectid") != "-1":
            raise invalid_id("projectid", call.get("projectid"))
        return ListResult("sshkeypair", [], 0)
    domain = domain_param(call)
    check_list_scope(call.ctx, call.session, domain=domain, account_name=call.get("account"))
    rows, total = service.list_keypairs(
        call.ctx,
        call.session,
        name=call.get("name"),
        fingerprint=call.get("fingerprint"),
        keyword=call.get("keyword"),
        listall=bool(call.get("listall", False)),
        isrecursive=bool(call.get("isrecursive", False)),
        domain=domain,
        account_name=call.get("account"),
        **paging(call),
    )
    items = [{"name": row.name, "fingerprint": row.fingerprint} for row in rows]
    return ListResult("sshkeypair", items, total)


_OWNER = (
    Param(
        "account",
        description="an optional account for the ssh key. Must be used with domainId.",
    ),
    Param(
        "domainid",
        ParamType.UUID,
        description=(
            "an optional domainId for the ssh key. If the account parameter is used, domainId"
            " must also be used."
        ),
        entity="Domain",
    ),
    Param(
        "projectid",
        ParamType.UUID,
        description="an optional project for the ssh key",
        entity="Project",
    ),
)

COMMANDS: tuple[Command, ...] = (
    Command(
        name="createSSHKeyPair",
        handler=_create,
        params=(Param("name", description="Name of the keypair", required=True), *_OWNER),
        roles=ALL_ROLES,
        response_name="createsshkeypairresponse",
        response_class="SSHKeyPairResponse",
        response_fields=FIELDS,
        description="Create a new keypair and returns the private key",
        related=("listSSHKeyPairs",),
        java_class="org.apache.cloudstack.api.command.user.ssh.CreateSSHKeyPairCmd",
        event_type=service.REGISTER_SSH_KEYPAIR,
    ),
    Command(
        name="registerSSHKeyPair",
        handler=_register,
        params=(
            Param("name", description="Name of the keypair", required=True),
            Param(
                "publickey",
                description="Public key material of the keypair",
                required=True,
                length=5120,
            ),
            *_OWNER,
        ),
        roles=ALL_ROLES,
        response_name="registersshkeypairresponse",
        response_class="SSHKeyPairResponse",
        response_fields=FIELDS,
        description="Register a public key in a keypair under a certain name",
        related=("createSSHKeyPair", "listSSHKeyPairs"),
        java_class="org.apache.cloudstack.api.command.user.ssh.RegisterSSHKeyPairCmd",
        event_type=service.REGISTER_SSH_KEYPAIR,
    ),
    Command(
        name="listSSHKeyPairs",
        handler=_list,
        params=(
            Param("name", description="A key pair name to look for"),
            Param("fingerprint", description="A public key fingerprint to look for"),
            Param(
                "projectid",
                ParamType.UUID,
                description="list objects by project",
                entity="Project",
            ),
            Param(
                "account",
                description=(
                    "list resources by account. Must be used with the domainId parameter."
                ),
            ),
            params.LISTALL,
            params.LIST_DOMAIN,
            params.ISRECURSIVE,
            *params.PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listsshkeypairsresponse",
        response_class="SSHKeyPairResponse",
        response_fields=FIELDS,
        description="List registered keypairs",
        java_class="org.apache.cloudstack.api.command.user.ssh.ListSSHKeyPairsCmd",
    ),
    Command(
        name="deleteSSHKeyPair",
        handler=_delete,
        params=(
            Param("name", description="Name of the keypair", required=True),
            Param(
                "account",
                description=(
                    "the account associated with the keypair. Must be used with the domainId"
                    " parameter."
                ),
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description="the domain ID associated with the keypair",
                entity="Domain",
            ),
            Param(
                "projectid",
                ParamType.UUID,
                description="the project associated with keypair",
                entity="Project",
            ),
        ),
        roles=ALL_ROLES,
        response_name="deletesshkeypairresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes a keypair by name",
        java_class="org.apache.cloudstack.api.command.user.ssh.DeleteSSHKeyPairCmd",
        event_type=service.DELETE_SSH_KEYPAIR,
    ),
)
"""Every 4.1 SSH key pair command."""


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """The SSH key pair commands (see :data:`COMMANDS`)."""
    return list(COMMANDS)
