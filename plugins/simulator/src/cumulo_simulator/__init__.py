"""cumulo's simulator: simulated hypervisor hosts (``Simulator``) and storage.

Everything the simulator knows lives in one SQLite file (:mod:`cumulo_simulator.state`)
so the API server, the job worker and a test process see the same hosts, VMs and
injected faults. See README.md for the host URL syntax and the fault rules.
"""

__version__ = "0.1.0"
