"""The simulator's hook module: the 4.1 ``configureSimulator`` API command.

``configureSimulator name=<operation> value=<rule>`` stores a behaviour rule
(:mod:`cumulo_simulator.rules`) in the shared state file, scoped by ``zoneid``,
``podid``, ``clusterid`` and ``hostid`` (the internal numeric ids, as in 4.1); the job
worker's simulator driver sees it on its next operation. ``value=clear`` removes the
rules of that operation and scope. Imports only ``cumulo.sdk`` and ``cumulo.hookimpl``,
as any third-party plugin.
"""

from __future__ import annotations

from cumulo import hookimpl
from cumulo.sdk import Call, Command, Param, ParamType, Role, SuccessResult
from cumulo.sdk.errors import InvalidParameterValue
from cumulo_simulator.rules import RuleError, Scope, operation_name, parse_behaviour
from cumulo_simulator.state import SimulatorState


def _configure_simulator(call: Call) -> SuccessResult:
    try:
        operation = operation_name(call.params["name"])
        behaviour = parse_behaviour(call.params["value"])
    except RuleError as exc:
        raise InvalidParameterValue(str(exc)) from exc
    scope = Scope(
        zone_id=call.get("zoneid"),
        pod_id=call.get("podid"),
        cluster_id=call.get("clusterid"),
        host_id=call.get("hostid"),
    )
    state = call.services.get("simulator_state") or SimulatorState()
    if behaviour is None:
        state.clear_rules(operation, scope)
    else:
        state.add_rule(operation, scope, behaviour)
    return SuccessResult()


CONFIGURE_SIMULATOR = Command(
    name="configureSimulator",
    handler=_configure_simulator,
    params=(
        Param("zoneid", ParamType.LONG, description="configure range: in a zone"),
        Param("podid", ParamType.LONG, description="configure range: in a pod"),
        Param("clusterid", ParamType.LONG, description="configure range: in a cluster"),
        Param("hostid", ParamType.LONG, description="configure range: in a host"),
        Param("name", description="which command needs to be configured", required=True),
        Param(
            "value",
            description="configuration options for this command, which is seperated by ;",
            required=True,
        ),
    ),
    roles=Role.ADMIN,
    response_name="configuresimulatorresponse",
    response_class="SuccessResponse",
    response_fields=("success", "displaytext"),
    description="configure simulator",
    java_class="com.cloud.api.commands.ConfigureSimulator",
)


@hookimpl
def cumulo_api_commands() -> list[Command]:
    """``configureSimulator``."""
    return [CONFIGURE_SIMULATOR]
