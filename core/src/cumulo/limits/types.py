"""CloudStack 4.1's resource types (``Resource.ResourceType``) and their default keys.

The number is what the API speaks (``resourcetype=0``), the name what the tables store
(``user_vm``). Each type's default limit comes from a global setting per owner kind:
``max.account.<suffix>`` for accounts, ``max.project.<suffix>`` for project accounts,
``max.domain.<suffix>`` for domains other than ROOT. 4.1 has no default for projects
per account, so that type is unlimited unless an admin sets a limit.
"""

from __future__ import annotations

import enum

from cumulo.sdk.errors import InvalidParameterValue


class ResourceType(enum.IntEnum):
    """4.1's resource types, numbered as ``resourcetype`` is."""

    USER_VM = 0
    PUBLIC_IP = 1
    VOLUME = 2
    SNAPSHOT = 3
    TEMPLATE = 4
    PROJECT = 5
    NETWORK = 6
    VPC = 7

    @property
    def label(self) -> str:
        """The name stored in ``resource_limit.type`` and shown in errors (``user_vm``)."""
        return self.name.lower()

    @classmethod
    def of(cls, value: int | str | ResourceType, param: str = "resourcetype") -> ResourceType:
        """The type a number, a stored name or a member stands for.

        :raises InvalidParameterValue: no such type (431 naming ``param``).
        """
        if isinstance(value, ResourceType):
            return value
        try:
            if isinstance(value, str) and not value.lstrip("-").isdecimal():
                return cls[value.upper()]
            return cls(int(value))
        except (KeyError, ValueError):
            raise InvalidParameterValue(
                f"Please specify a valid resource type: {param}={value} is none of"
                f" {', '.join(str(int(t)) for t in cls)}"
            ) from None


_SUFFIX = {
    ResourceType.USER_VM: "user.vms",
    ResourceType.PUBLIC_IP: "public.ips",
    ResourceType.VOLUME: "volumes",
    ResourceType.SNAPSHOT: "snapshots",
    ResourceType.TEMPLATE: "templates",
    ResourceType.NETWORK: "networks",
    ResourceType.VPC: "vpcs",
}


def account_key(resource_type: ResourceType) -> str | None:
    """``max.account.<suffix>``, or ``None`` when 4.1 has no default (unlimited)."""
    suffix = _SUFFIX.get(resource_type)
    return None if suffix is None else f"max.account.{suffix}"


def project_key(resource_type: ResourceType) -> str | None:
    """``max.project.<suffix>`` (the defaults of project accounts), or ``None``."""
    suffix = _SUFFIX.get(resource_type)
    return None if suffix is None else f"max.project.{suffix}"


def domain_key(resource_type: ResourceType) -> str | None:
    """``max.domain.<suffix>`` (the defaults of domains below ROOT), or ``None``."""
    suffix = _SUFFIX.get(resource_type)
    return None if suffix is None else f"max.domain.{suffix}"
