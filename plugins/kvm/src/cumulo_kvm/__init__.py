"""cumulo's KVM plugin: KVM hosts (``KVM`` in ``cumulo.hypervisors``) and their primary
storage (``KVM`` in ``cumulo.storage``), reached through libvirt with no agent on the
host. See README.md for the host URL, the host options and the storage protocols.

Importing the package does not import libvirt; the driver modules do.
"""

__version__ = "0.1.0"
