"""Service (compute) offerings: create, update, delete (REQUIREMENTS CAP-17).

Services work in the caller's transaction and never commit. Who may call them is the
API's business (root admins only, commands-4.1.tsv); the rules here are 4.1's
(``ConfigurationManagerImpl``), each a 431 naming the parameter:

- ``cpunumber`` and ``cpuspeed`` 1..2147483647, ``memory`` 32..2147483647 MB;
- ``storagetype`` ``local`` or ``shared``;
- a system offering (``issystem``) is for one system VM type, ``domainrouter`` when
  none is named; ``systemvmtype`` without ``issystem`` is refused (4.1 silently
  ignored it, creating a user offering the caller did not ask for);
- ``networkrate`` (Mbps, not negative) only for user offerings and router offerings;
- the offerings the management server seeded for its own VMs (``default_use``)
  cannot be deleted.

Deleting is a soft delete: VMs keep pointing at the offering they were deployed from.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cumulo.accounts.models import Domain
from cumulo.db.base import utcnow
from cumulo.offerings import validation
from cumulo.offerings.models import ServiceOffering, SystemVmType
from cumulo.sdk.errors import InvalidParameterValue

SYSTEM_VM_TYPES = (
    SystemVmType.DOMAIN_ROUTER.value,
    SystemVmType.CONSOLE_PROXY.value,
    SystemVmType.SECONDARY_STORAGE_VM.value,
)
"""The ``systemvmtype`` values 4.1 accepts."""


def system_vm_type(is_system: bool, value: str | None) -> str | None:
    """The ``vm_type`` to store: ``None`` for a user offering, else one of
    :data:`SYSTEM_VM_TYPES` (``domainrouter`` when ``value`` is absent).

    :raises InvalidParameterValue: unknown type, or a type without ``issystem``.
    """
    if not is_system:
        if value is not None:
            raise InvalidParameterValue(
                "systemvmtype: only a system offering (issystem=true) has a system VM type"
            )
        return None
    if value is None:
        return SystemVmType.DOMAIN_ROUTER.value
    text = value.strip().lower()
    if text not in SYSTEM_VM_TYPES:
        raise InvalidParameterValue(
            f"systemvmtype: invalid system VM type '{value}'; supported types are"
            f" {', '.join(SYSTEM_VM_TYPES)}"
        )
    return text


def create_service_offering(
    session: Session,
    *,
    name: str,
    display_text: str,
    cpu: int,
    speed: int,
    memory: int,
    storage_type: str | None = None,
    tags: str | None = None,
    host_tag: str | None = None,
    offer_ha: bool = False,
    limit_cpu_use: bool = False,
    network_rate: int | None = None,
    is_system: bool = False,
    system_vm_type_name: str | None = None,
    domain: Domain | None = None,
) -> ServiceOffering:
    """``createServiceOffering``: validate (module docstring) and store a new offering.

    :param cpu: vCPUs (``cpunumber``). :param speed: MHz per vCPU (``cpuspeed``).
    :param memory: MB (``memory``). :param domain: ``None`` for a public offering.
    :raises InvalidParameterValue: a rule is broken (431 naming the parameter).
    """
    vm_type = system_vm_type(is_system, system_vm_type_name)
    if network_rate is not None:
        if vm_type not in (None, SystemVmType.DOMAIN_ROUTER.value):
            raise InvalidParameterValue(
                "networkrate: a network rate can be given only for a user offering or a"
                ' system offering of systemvmtype "domainrouter"'
            )
        validation.in_range(network_rate, "networkrate", 0, unit="Mbps")
    offering = ServiceOffering(
        name=validation.name(name),
        display_text=validation.display_text(display_text),
        cpu=validation.in_range(cpu, "cpunumber", 1),
        speed=validation.in_range(speed, "cpuspeed", 1, unit="MHz"),
        ram_size=validation.in_range(memory, "memory", validation.MIN_MEMORY_MB, unit="MB"),
        use_local_storage=validation.uses_local_storage(storage_type),
        tags=validation.tags(tags),
        host_tag=validation.host_tag(host_tag),
        ha_enabled=offer_ha,
        limit_cpu_use=limit_cpu_use,
        nw_rate=network_rate,
        system_use=is_system,
        vm_type=vm_type,
        default_use=False,
        domain_id=validation.live_domain(domain),
        sort_key=0,
    )
    session.add(offering)
    session.flush()
    return offering


def update_service_offering(
    session: Session,
    offering: ServiceOffering,
    *,
    name: str | None = None,
    display_text: str | None = None,
    sort_key: int | None = None,
) -> bool:
    """``updateServiceOffering``: rename, change the display text or the sort key
    (4.1 allows nothing else: the sizes of an offering VMs run with never change).

    :return: whether anything was given to change.
    :raises InvalidParameterValue: a blank or too long name or text (431).
    """
    if name is None and display_text is None and sort_key is None:
        return False
    if name is not None:
        offering.name = validation.name(name)
    if display_text is not None:
        offering.display_text = validation.display_text(display_text)
    if sort_key is not None:
        offering.sort_key = sort_key
    session.flush()
    return True


def delete_service_offering(session: Session, offering: ServiceOffering) -> None:
    """``deleteServiceOffering``: soft-delete a live offering.

    :raises InvalidParameterValue: the offering is one of the management server's
        default system offerings (431 naming ``id``).
    """
    if offering.default_use:
        raise InvalidParameterValue(
            f"id: '{offering.name}' is a default system offering the management server"
            " uses for its own VMs; default service offerings cannot be deleted"
        )
    offering.removed = utcnow()
    session.flush()
