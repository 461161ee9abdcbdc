"""CloudStack 4.1's event types: the names ``listEventTypes`` answers and events carry.

4.1 builds ``listEventTypes`` by reflection over every public constant of
``EventTypes`` (CS41: api/src/com/cloud/event/EventTypes.java, read through
``ManagementServerImpl.listEventTypes``), in declaration order; :data:`CATALOGUE` keeps
that order, grouped as the Java file groups them. The 4.1.0 tag itself is not in the
reference index; the list was taken from apache/cloudstack master of early 2013 (commit
02b16535) and checked against commands-4.1.tsv: the ``GLOBAL.LB.*`` types of that
commit belong to global load balancing, a 4.2 feature, and are left out.

Names are mostly ``UPPER.DOTTED``; two tag types are ``CREATE_TAGS``/``DELETE_TAGS``, as
in 4.1. Plugins record types of their own without registering them: any name of the
same shape is accepted (:func:`is_well_formed`); the catalogue is what 4.1 clients list.
"""

from __future__ import annotations

import re

# One tuple per section of EventTypes.java, in its order; packed by hand, several names a
# line, which the formatter would spread one a line.
# fmt: off
_VM = (
    "VM.CREATE", "VM.DESTROY", "VM.START", "VM.STOP", "VM.REBOOT", "VM.UPDATE",
    "VM.UPGRADE", "VM.RESETPASSWORD", "VM.RESETSSHKEY", "VM.MIGRATE", "VM.MOVE",
    "VM.RESTORE",
)
_ROUTER = (
    "ROUTER.CREATE", "ROUTER.DESTROY", "ROUTER.START", "ROUTER.STOP", "ROUTER.REBOOT",
    "ROUTER.HA", "ROUTER.UPGRADE",
)
_CONSOLE_PROXY = (
    "PROXY.CREATE", "PROXY.DESTROY", "PROXY.START", "PROXY.STOP", "PROXY.REBOOT", "PROXY.HA",
)
_VNC = ("VNC.CONNECT", "VNC.DISCONNECT")
_NETWORK = (
    "NET.IPASSIGN", "NET.IPRELEASE", "NET.RULEADD", "NET.RULEDELETE", "NET.RULEMODIFY",
    "NETWORK.CREATE", "NETWORK.DELETE", "NETWORK.UPDATE", "FIREWALL.OPEN", "FIREWALL.CLOSE",
)
_NIC = ("NIC.CREATE", "NIC.DELETE", "NIC.UPDATE")
_LOAD_BALANCER = (
    "LB.ASSIGN.TO.RULE", "LB.REMOVE.FROM.RULE", "LB.CREATE", "LB.DELETE",
    "LB.STICKINESSPOLICY.CREATE", "LB.STICKINESSPOLICY.DELETE", "LB.UPDATE",
)
_ACCOUNT = ("ACCOUNT.DISABLE", "ACCOUNT.CREATE", "ACCOUNT.DELETE", "ACCOUNT.MARK.DEFAULT.ZONE")
_USER = (
    "USER.LOGIN", "USER.LOGOUT", "USER.CREATE", "USER.DELETE", "USER.DISABLE", "USER.UPDATE",
    "USER.ENABLE", "USER.LOCK",
)
_TEMPLATE = (
    "TEMPLATE.CREATE", "TEMPLATE.DELETE", "TEMPLATE.UPDATE", "TEMPLATE.DOWNLOAD.START",
    "TEMPLATE.DOWNLOAD.SUCCESS", "TEMPLATE.DOWNLOAD.FAILED", "TEMPLATE.COPY",
    "TEMPLATE.EXTRACT", "TEMPLATE.UPLOAD", "TEMPLATE.CLEANUP",
)
_VOLUME = (
    "VOLUME.CREATE", "VOLUME.DELETE", "VOLUME.ATTACH", "VOLUME.DETACH", "VOLUME.EXTRACT",
    "VOLUME.UPLOAD", "VOLUME.MIGRATE", "VOLUME.RESIZE",
)
_DOMAIN = ("DOMAIN.CREATE", "DOMAIN.DELETE", "DOMAIN.UPDATE")
_SNAPSHOT = (
    "SNAPSHOT.CREATE", "SNAPSHOT.DELETE", "SNAPSHOTPOLICY.CREATE", "SNAPSHOTPOLICY.UPDATE",
    "SNAPSHOTPOLICY.DELETE",
)
_ISO = (
    "ISO.CREATE", "ISO.DELETE", "ISO.COPY", "ISO.ATTACH", "ISO.DETACH", "ISO.EXTRACT",
    "ISO.UPLOAD",
)
_SECONDARY_STORAGE_VM = (
    "SSVM.CREATE", "SSVM.DESTROY", "SSVM.START", "SSVM.STOP", "SSVM.REBOOT", "SSVM.HA",
)
_OFFERINGS = (
    "SERVICE.OFFERING.CREATE", "SERVICE.OFFERING.EDIT", "SERVICE.OFFERING.DELETE",
    "DISK.OFFERING.CREATE", "DISK.OFFERING.EDIT", "DISK.OFFERING.DELETE",
    "NETWORK.OFFERING.CREATE", "NETWORK.OFFERING.ASSIGN", "NETWORK.OFFERING.EDIT",
    "NETWORK.OFFERING.REMOVE", "NETWORK.OFFERING.DELETE",
)
_INFRASTRUCTURE = (
    "POD.CREATE", "POD.EDIT", "POD.DELETE", "ZONE.CREATE", "ZONE.EDIT", "ZONE.DELETE",
    "VLAN.IP.RANGE.CREATE", "VLAN.IP.RANGE.DELETE", "STORAGE.IP.RANGE.CREATE",
    "STORAGE.IP.RANGE.DELETE", "STORAGE.IP.RANGE.UPDATE",
)
_CONFIGURATION = ("CONFIGURATION.VALUE.EDIT",)
_SECURITY_GROUP = (
    "SG.AUTH.INGRESS", "SG.REVOKE.INGRESS", "SG.AUTH.EGRESS", "SG.REVOKE.EGRESS", "SG.CREATE",
    "SG.DELETE", "SG.ASSIGN", "SG.REMOVE",
)
_HOST_AND_MAINTENANCE = (
    "HOST.RECONNECT", "MAINT.CANCEL", "MAINT.CANCEL.PS", "MAINT.PREPARE", "MAINT.PREPARE.PS",
)
_VPN = (
    "VPN.REMOTE.ACCESS.CREATE", "VPN.REMOTE.ACCESS.DESTROY", "VPN.USER.ADD", "VPN.USER.REMOVE",
    "VPN.S2S.VPN.GATEWAY.CREATE", "VPN.S2S.VPN.GATEWAY.DELETE",
    "VPN.S2S.CUSTOMER.GATEWAY.CREATE", "VPN.S2S.CUSTOMER.GATEWAY.DELETE",
    "VPN.S2S.CUSTOMER.GATEWAY.UPDATE", "VPN.S2S.CONNECTION.CREATE",
    "VPN.S2S.CONNECTION.DELETE", "VPN.S2S.CONNECTION.RESET",
)
_MISCELLANEOUS = (
    "NETWORK.RESTART", "UPLOAD.CUSTOM.CERTIFICATE", "STATICNAT.ENABLE", "STATICNAT.DISABLE",
    "ZONE.VLAN.ASSIGN", "ZONE.VLAN.RELEASE",
)
_PROJECT = (
    "PROJECT.CREATE", "PROJECT.UPDATE", "PROJECT.DELETE", "PROJECT.ACTIVATE",
    "PROJECT.SUSPEND", "PROJECT.ACCOUNT.ADD", "PROJECT.INVITATION.UPDATE",
    "PROJECT.INVITATION.REMOVE", "PROJECT.ACCOUNT.REMOVE",
)
_PHYSICAL_NETWORK = (
    "NETWORK.ELEMENT.CONFIGURE", "PHYSICAL.NETWORK.CREATE", "PHYSICAL.NETWORK.DELETE",
    "PHYSICAL.NETWORK.UPDATE", "SERVICE.PROVIDER.CREATE", "SERVICE.PROVIDER.DELETE",
    "SERVICE.PROVIDER.UPDATE", "TRAFFIC.TYPE.CREATE", "TRAFFIC.TYPE.DELETE",
    "TRAFFIC.TYPE.UPDATE",
)
_NETWORK_DEVICES = (
    "PHYSICAL.LOADBALANCER.ADD", "PHYSICAL.LOADBALANCER.DELETE",
    "PHYSICAL.LOADBALANCER.CONFIGURE", "SWITCH.MGMT.ADD", "SWITCH.MGMT.DELETE",
    "SWITCH.MGMT.CONFIGURE", "SWITCH.MGMT.ENABLE", "SWITCH.MGMT.DISABLE",
    "PHYSICAL.FIREWALL.ADD", "PHYSICAL.FIREWALL.DELETE", "PHYSICAL.FIREWALL.CONFIGURE",
)
_VPC = (
    "VPC.CREATE", "VPC.UPDATE", "VPC.DELETE", "VPC.RESTART", "VPC.OFFERING.CREATE",
    "VPC.OFFERING.UPDATE", "VPC.OFFERING.DELETE", "PRIVATE.GATEWAY.CREATE",
    "PRIVATE.GATEWAY.DELETE", "STATIC.ROUTE.CREATE", "STATIC.ROUTE.DELETE",
)
_TAGS = ("CREATE_TAGS", "DELETE_TAGS")
_NICIRA_NVP = (
    "PHYSICAL.NVPCONTROLLER.ADD", "PHYSICAL.NVPCONTROLLER.DELETE",
    "PHYSICAL.NVPCONTROLLER.CONFIGURE",
)
_AUTOSCALE = (
    "COUNTER.CREATE", "COUNTER.DELETE", "CONDITION.CREATE", "CONDITION.DELETE",
    "AUTOSCALEPOLICY.CREATE", "AUTOSCALEPOLICY.UPDATE", "AUTOSCALEPOLICY.DELETE",
    "AUTOSCALEVMPROFILE.CREATE", "AUTOSCALEVMPROFILE.DELETE", "AUTOSCALEVMPROFILE.UPDATE",
    "AUTOSCALEVMGROUP.CREATE", "AUTOSCALEVMGROUP.DELETE", "AUTOSCALEVMGROUP.UPDATE",
    "AUTOSCALEVMGROUP.ENABLE", "AUTOSCALEVMGROUP.DISABLE",
)
_BAREMETAL = (
    "PHYSICAL.DHCP.ADD", "PHYSICAL.DHCP.DELETE", "PHYSICAL.PXE.ADD", "PHYSICAL.PXE.DELETE",
)
# Not in 4.1's EventTypes. 4.1 reports a host that stops answering as an *alert* of
# AlertManager.ALERT_TYPE_HOST (7), not an event; later CloudStack also publishes that
# alert on its event bus under the name "ALERT.COMPUTE.HOST" (AlertService.AlertType).
# cumulo records it as an event of that name, appended so that 4.1's list keeps its order
# and listEventTypes shows the name events carry.
_ALERTS = ("ALERT.COMPUTE.HOST",)

CATALOGUE: tuple[str, ...] = (
    *_VM, *_ROUTER, *_CONSOLE_PROXY, *_VNC, *_NETWORK, *_NIC, *_LOAD_BALANCER, *_ACCOUNT,
    *_USER, *_TEMPLATE, *_VOLUME, *_DOMAIN, *_SNAPSHOT, *_ISO, *_SECONDARY_STORAGE_VM,
    *_OFFERINGS, *_INFRASTRUCTURE, *_CONFIGURATION, *_SECURITY_GROUP, *_HOST_AND_MAINTENANCE,
    *_VPN, *_MISCELLANEOUS, *_PROJECT, *_PHYSICAL_NETWORK, *_NETWORK_DEVICES, *_VPC, *_TAGS,
    *_NICIRA_NVP, *_AUTOSCALE, *_BAREMETAL, *_ALERTS,
)
"""Every 4.1 event type, in ``EventTypes.java`` declaration order, then the alert names
cumulo records as events (:data:`ALERT_COMPUTE_HOST`)."""
# fmt: on

KNOWN: frozenset[str] = frozenset(CATALOGUE)

# ``event.type`` is VARCHAR(32) in CloudStack's schema, and so in ours.
MAX_LENGTH = 32

# Upper-case words joined by dots; words may contain digits and underscores.
_SHAPE = re.compile(r"[A-Z][A-Z0-9_]*(?:\.[A-Z0-9_]+)*")

# Names recorded by the core's own services, so a typo is caught where it is written.
CONFIGURATION_VALUE_EDIT = "CONFIGURATION.VALUE.EDIT"
ALERT_COMPUTE_HOST = "ALERT.COMPUTE.HOST"
"""A host changed state through its heartbeat (Alert, Down, back Up): 4.1's
``ALERT_TYPE_HOST``; the level (``WARN``, ``ERROR``, ``INFO``) tells which."""


def is_known(name: str) -> bool:
    """Whether ``name`` is one of 4.1's event types."""
    return name in KNOWN


def is_well_formed(name: str) -> bool:
    """Whether ``name`` may be recorded: 4.1's, or a plugin's type of the same shape
    (``UPPER.DOTTED`` words of ``A-Z``, digits and ``_``, at most 32 characters)."""
    return name in KNOWN or (len(name) <= MAX_LENGTH and _SHAPE.fullmatch(name) is not None)
