"""``/_mock/faults``: install, list and remove fault rules (``engine/faults.py``).

Rules go to the server-wide plan or to one tenant's (``tenant``), either given inline
(``rules``) or as a named scenario file (``scenario``, see ``scenarios.py``); ``mode`` switches
the plan between ``first`` (the first rule that fires wins) and ``ordered`` (a script played in
order). A list shows each rule with how many matching calls it saw, how often it fired and how
many firings it has left, so a test can assert that its fault really happened.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from ..engine.faults import FaultError, FaultPlan
from ..scenarios import list_scenarios, load_scenario
from .errors import ControlError
from .routes import arg, body, bp, rt


def _plan_json(tenant: str | None, plan: FaultPlan) -> dict[str, Any]:
    return {"tenant": tenant, "mode": plan.mode, "seed": plan.seed, "rules": plan.state()}


@bp.get("/faults")
def list_faults() -> Response:
    tenant = request.args.get("tenant")
    plans = rt().faults.plans()
    shown = [
        _plan_json(scope, plan)
        for scope, plan in sorted(plans.items(), key=lambda kv: (kv[0] is not None, kv[0] or ""))
        if (tenant is None or scope == tenant) and plan.rules
    ]
    return jsonify(plans=shown, scenarios=list_scenarios())


@bp.post("/faults")
def add_faults() -> Response:
    data = body()
    tenant = arg(data, "tenant", str)
    mode = arg(data, "mode", str)
    replace_all = bool(arg(data, "replace", bool, False))
    scenario_name = arg(data, "scenario", str)
    rules = data.get("rules")
    if (scenario_name is None) == (rules is None):
        raise ControlError(
            400, "invalid_body", "send either rules (a list) or scenario (a name), not both"
        )
    runtime = rt()
    try:
        if scenario_name is not None:
            scenario = load_scenario(scenario_name)
            rules, mode = scenario.rules, mode or scenario.mode
        now = runtime.engine.now(tenant) if tenant else runtime.engine.clocks.server.now()
        added = runtime.faults.install(
            rules, tenant=tenant, now=now, mode=mode, replace_all=replace_all
        )
    except FaultError as exc:
        raise ControlError(400, "invalid_rule", str(exc)) from None
    plan = runtime.faults.plan(tenant)
    response = jsonify(
        tenant=tenant, mode=plan.mode, seed=plan.seed, rules=[r.to_json() for r in added]
    )
    response.status_code = 201
    return response


@bp.delete("/faults")
def clear_faults() -> Response:
    tenant = request.args.get("tenant")
    plans = rt().faults.plans()
    cleared = 0
    for scope, plan in plans.items():
        if tenant is None or scope == tenant:
            cleared += len(plan.rules)
            plan.clear()
    return jsonify(cleared=cleared, tenant=tenant)


@bp.delete("/faults/<rule_id>")
def remove_fault(rule_id: str) -> Response:
    if not rt().faults.remove(rule_id):
        raise ControlError(404, "rule_not_found", f"no fault rule {rule_id!r}")
    return jsonify(removed=rule_id)
