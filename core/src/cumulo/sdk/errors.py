"""Errors a service or a plugin raises; the API renders each as CloudStack 4.1 does.

Every error carries the HTTP status / ``errorcode`` and the ``cserrorcode`` of the
CloudStack exception class it stands for (api-reference.md §c). Services raise these
and never catch them to build responses: one error handler renders them all, in the
command's own envelope, with the ``X-Description`` header.
"""

from __future__ import annotations

from typing import ClassVar


class CloudError(Exception):
    """Base of every error the API renders with a CloudStack error code.

    :cvar errorcode: HTTP status and ``errorcode`` (``ApiErrorCode``).
    :cvar cserrorcode: ``CSExceptionErrorCode`` of the matching CloudStack exception.
    :cvar internal: the message is replaced for non-root callers (533, 534, 535, 530).
    """

    errorcode: ClassVar[int] = 530
    cserrorcode: ClassVar[int] = 4250
    internal: ClassVar[bool] = True

    def __init__(self, errortext: str) -> None:
        super().__init__(errortext)
        self.errortext = errortext


class InvalidParameterValue(CloudError):
    """431: a missing or invalid parameter; the text names the parameter."""

    errorcode = 431
    cserrorcode = 4350
    internal = False


class MalformedParameter(CloudError):
    """430: bad ``name[i].field`` map syntax."""

    errorcode = 430
    cserrorcode = 9999
    internal = False


class UnsupportedAction(CloudError):
    """432: unknown command, or not available to the caller's role."""

    errorcode = 432
    cserrorcode = 9999
    internal = False


class PermissionDenied(CloudError):
    """531: the caller may not see or act on this resource."""

    errorcode = 531
    cserrorcode = 4365
    internal = False


class AccountLimitExceeded(CloudError):
    """532: an account resource limit would be exceeded."""

    errorcode = 532
    cserrorcode = 4280
    internal = False


class InsufficientCapacity(CloudError):
    """533: no host, pool or address can take the request."""

    errorcode = 533
    cserrorcode = 4325


class ResourceUnavailable(CloudError):
    """534: a resource needed for the operation is down or unreachable."""

    errorcode = 534
    cserrorcode = 4380


class ResourceAllocationFailed(CloudError):
    """535: allocating a resource failed."""

    errorcode = 535
    cserrorcode = 4370


class ResourceInUse(CloudError):
    """536: the resource is in use and cannot be changed or removed."""

    errorcode = 536
    cserrorcode = 4375
    internal = False


class NetworkRuleConflict(CloudError):
    """537: the rule conflicts with an existing one."""

    errorcode = 537
    cserrorcode = 4360
    internal = False


class InternalError(CloudError):
    """530: anything else; the text is hidden from non-root callers."""

    errorcode = 530
    cserrorcode = 4250


class AuthenticationFailed(CloudError):
    """401: signature, API key, expiry or session failure (no cserrorcode, 4.1 text)."""

    errorcode = 401
    cserrorcode = 0
    internal = False

    def __init__(
        self, errortext: str = "unable to verify user credentials and/or request signature"
    ) -> None:
        super().__init__(errortext)


class LoginFailed(CloudError):
    """531 from ``login``: rendered as ``errorresponse`` without cserrorcode."""

    errorcode = 531
    cserrorcode = 0
    internal = False
