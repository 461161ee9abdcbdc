"""The 4.1 user commands: createUser, updateUser, deleteUser, disableUser (async),
enableUser, lockUser, listUsers, getUser and registerUserKeys."""

from __future__ import annotations

from cumulo.accounts import users, views
from cumulo.accounts.commands import params
from cumulo.accounts.commands.support import (
    domain_param,
    encode_password,
    paging,
    required_user,
    secrets_key,
    user_fields,
    user_param,
)
from cumulo.accounts.models import User
from cumulo.accounts.user_listing import list_users, user_row
from cumulo.auth.keys import find_user_by_api_key, register_user_keys
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
from cumulo.sdk.errors import InvalidParameterValue

_RELATED = ("createUser", "listUsers", "lockUser")


def _user_result(call: Call, user: User) -> ObjectResult:
    return ObjectResult("user", user_fields(call, *user_row(call.session, user)))


def _create_user(call: Call) -> ObjectResult:
    user = users.create_user(
        call.ctx,
        call.session,
        encode_password=lambda password: encode_password(call, password),
        account_name=call.params["account"],
        domain=domain_param(call),
        username=call.params["username"],
        password=call.params["password"],
        email=call.params["email"],
        firstname=call.params["firstname"],
        lastname=call.params["lastname"],
        timezone=call.get("timezone"),
        user_uuid=call.get("userid"),
    )
    return _user_result(call, user)


def _update_user(call: Call) -> ObjectResult:
    database_key, algorithm = secrets_key(call)
    user = users.update_user(
        call.ctx,
        call.session,
        required_user(call),
        encode_password=lambda password: encode_password(call, password),
        database_key=database_key,
        algorithm=algorithm,
        username=call.get("username"),
        password=call.get("password"),
        email=call.get("email"),
        firstname=call.get("firstname"),
        lastname=call.get("lastname"),
        timezone=call.get("timezone"),
        api_key=call.get("userapikey"),
        secret_key=call.get("usersecretkey"),
    )
    return _user_result(call, user)


def _delete_user(call: Call) -> SuccessResult:
    users.delete_user(call.ctx, call.session, required_user(call))
    return SuccessResult()


def _disable_user(call: Call) -> ObjectResult:
    return _user_result(call, users.disable_user(call.ctx, call.session, required_user(call)))


def _enable_user(call: Call) -> ObjectResult:
    return _user_result(call, users.enable_user(call.ctx, call.session, required_user(call)))


def _lock_user(call: Call) -> ObjectResult:
    return _user_result(call, users.lock_user(call.ctx, call.session, required_user(call)))


def _list_users(call: Call) -> ListResult:
    rows, total = list_users(
        call.ctx,
        call.session,
        user=user_param(call),
        username=call.get("username"),
        account_name=call.get("account"),
        domain=domain_param(call),
        account_type=call.get("accounttype"),
        state=call.get("state"),
        keyword=call.get("keyword"),
        **paging(call),
    )
    return ListResult("user", [user_fields(call, *row) for row in rows], total)


def _get_user(call: Call) -> ObjectResult:
    user = find_user_by_api_key(call.session, call.params["userapikey"])
    if user is None:
        raise InvalidParameterValue("User with specified API key does not exist")
    return _user_result(call, user)


def _register_user_keys(call: Call) -> ObjectResult:
    database_key, algorithm = secrets_key(call)
    api_key, secret_key = users.register_keys(
        call.ctx,
        call.session,
        required_user(call),
        lambda user: register_user_keys(call.session, user, database_key, algorithm),
    )
    return ObjectResult("userkeys", views.register_fields(api_key, secret_key))


def _by_id(description: str) -> tuple[Param, ...]:
    return (Param("id", ParamType.UUID, description=description, required=True, entity="User"),)


COMMANDS = (
    Command(
        name="createUser",
        handler=_create_user,
        params=(
            Param(
                "account",
                description=(
                    "Creates the user under the specified account. If no account is"
                    " specified, the username will be used as the account name."
                ),
                required=True,
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description=(
                    "Creates the user under the specified domain. Has to be accompanied with"
                    " the account parameter"
                ),
                entity="Domain",
            ),
            params.EMAIL,
            params.FIRSTNAME,
            params.LASTNAME,
            params.PASSWORD,
            params.TIMEZONE,
            params.USERNAME,
            params.USERID,
        ),
        roles=Role.ADMIN | Role.RESOURCE_ADMIN,
        response_name="createuserresponse",
        response_class="UserResponse",
        response_fields=views.USER_FIELDS,
        description="Creates a user for an account that already exists",
        related=("listUsers", "lockUser"),
        java_class="org.apache.cloudstack.api.command.admin.user.CreateUserCmd",
        event_type="USER.CREATE",
    ),
    Command(
        name="updateUser",
        handler=_update_user,
        params=(
            Param(
                "userapikey",
                description="The API key for the user. Must be specified with userSecretKey",
            ),
            Param("email", description="email"),
            Param("firstname", description="first name"),
            Param("id", ParamType.UUID, description="User uuid", required=True, entity="User"),
            Param("lastname", description="last name"),
            Param(
                "password",
                description=(
                    "Hashed password (default is MD5). If you wish to use any other hasing"
                    " algorithm, you would need to write a custom authentication adapter"
                ),
            ),
            Param(
                "usersecretkey",
                description="The secret key for the user. Must be specified with userApiKey",
            ),
            params.TIMEZONE,
            Param("username", description="Unique username"),
        ),
        roles=ALL_ROLES,
        response_name="updateuserresponse",
        response_class="UserResponse",
        response_fields=views.USER_FIELDS,
        description="Updates a user account",
        related=("createUser", "listUsers", "lockUser", "disableUser", "enableUser"),
        java_class="org.apache.cloudstack.api.command.admin.user.UpdateUserCmd",
        event_type="USER.UPDATE",
    ),
    Command(
        name="deleteUser",
        handler=_delete_user,
        params=_by_id("id of the user to be deleted"),
        roles=Role.ADMIN | Role.RESOURCE_ADMIN,
        response_name="deleteuserresponse",
        response_class="SuccessResponse",
        response_fields=("success", "displaytext"),
        description="Deletes a user for an account",
        java_class="org.apache.cloudstack.api.command.admin.user.DeleteUserCmd",
        event_type="USER.DELETE",
    ),
    Command(
        name="disableUser",
        handler=_disable_user,
        params=_by_id("Disables user by user ID."),
        roles=ANY_ADMIN,
        is_async=True,
        response_name="disableuserresponse",
        response_class="UserResponse",
        response_fields=views.USER_FIELDS,
        description="Disables a user account",
        related=(*_RELATED, "enableUser"),
        java_class="org.apache.cloudstack.api.command.admin.user.DisableUserCmd",
        instance_type="User",
        event_type="USER.DISABLE",
    ),
    Command(
        name="enableUser",
        handler=_enable_user,
        params=_by_id("Enables user by user ID."),
        roles=ANY_ADMIN,
        response_name="enableuserresponse",
        response_class="UserResponse",
        response_fields=views.USER_FIELDS,
        description="Enables a user account",
        related=_RELATED,
        java_class="org.apache.cloudstack.api.command.admin.user.EnableUserCmd",
        event_type="USER.ENABLE",
    ),
    Command(
        name="lockUser",
        handler=_lock_user,
        params=_by_id("Locks user by user ID."),
        roles=ANY_ADMIN,
        response_name="lockuserresponse",
        response_class="UserResponse",
        response_fields=views.USER_FIELDS,
        description="Locks a user account",
        related=("listUsers",),
        java_class="org.apache.cloudstack.api.command.admin.user.LockUserCmd",
        event_type="USER.LOCK",
    ),
    Command(
        name="listUsers",
        handler=_list_users,
        params=(
            Param(
                "accounttype",
                ParamType.LONG,
                description=(
                    "List users by account type. Valid types include admin, domain-admin,"
                    " read-only-admin, or user."
                ),
            ),
            Param("id", ParamType.UUID, description="List user by ID.", entity="User"),
            Param("state", description="List users by state of the user account."),
            Param("username", description="List user by the username"),
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
        roles=ANY_ADMIN,
        response_name="listusersresponse",
        response_class="UserResponse",
        response_fields=views.USER_FIELDS,
        description="Lists user accounts",
        java_class="org.apache.cloudstack.api.command.admin.user.ListUsersCmd",
    ),
    Command(
        name="getUser",
        handler=_get_user,
        params=(Param("userapikey", description="API key of the user", required=True),),
        roles=Role.ADMIN,
        response_name="getuserresponse",
        response_class="UserResponse",
        response_fields=views.USER_FIELDS,
        description="Find user account by API key",
        related=("createUser", "updateUser", "listUsers", "lockUser", "disableUser", "enableUser"),
        java_class="org.apache.cloudstack.api.command.admin.user.GetUserCmd",
    ),
    Command(
        name="registerUserKeys",
        handler=_register_user_keys,
        params=(Param("id", ParamType.UUID, description="User id", required=True, entity="User"),),
        roles=ALL_ROLES,
        response_name="registeruserkeysresponse",
        response_class="RegisterResponse",
        response_fields=views.REGISTER_FIELDS,
        description=(
            "This command allows a user to register for the developer API, returning a secret"
            " key and an API key. This request is made through the integration API port, so"
            " it is a privileged command and must be made on behalf of a user. It is up to the"
            " implementer just how the username and password are entered, and then how that"
            " translates to an integration API request. Both secret key and API key should be"
            " returned to the user"
        ),
        java_class="org.apache.cloudstack.api.command.admin.user.RegisterCmd",
        event_type="REGISTER.USER.KEY",
    ),
)
