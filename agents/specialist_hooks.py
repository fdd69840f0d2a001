"""Hooks a specialist agent runs with, for one call: Strands' agent-as-tool adapter leaves these two gaps.

It neither hands the coordinator's invocation state to the specialist (so the write gate inside would
not know who asked, or which clusters the call is bound to) nor tells a model failure from a tool error.
"""

from __future__ import annotations

from typing import Any

from strands.hooks import AfterModelCallEvent, BeforeInvocationEvent, HookProvider, HookRegistry

from agents.fleet import CLUSTER_SCOPE, ClusterScope
from agents.gate.write_gate import REQUEST_FACTS


class ModelFailureWatch(HookProvider):
    """The exception of a specialist's last model call, if it failed (a later success clears it).

    Strands' agent-as-tool adapter reports a failed sub-agent as a tool error, whatever failed; this
    tells a model failure (throttled, unreachable, refused credentials) from the rest.
    """

    def __init__(self) -> None:
        self.failure: BaseException | None = None

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        registry.add_callback(AfterModelCallEvent, self.record)

    def record(self, event: AfterModelCallEvent) -> None:
        self.failure = event.exception


class HandOnRequest(HookProvider):
    """Puts the coordinator's request facts (and the call's clusters) in the specialist's invocation state.

    Strands 1.62's agent-as-tool adapter calls the specialist's `stream_async` without the coordinator's
    invocation state, so the write gate inside the specialist would not know who asked. Set at every
    invocation, a resume included (its facts are the resuming request's, not the interrupted one's).
    """

    def __init__(self, facts: dict[str, Any], scope: ClusterScope | None = None) -> None:
        self.facts = facts
        self.scope = scope  # the clusters the specialist's calls are bound to (agents/gate/clusters.py)

    def register_hooks(self, registry: HookRegistry, **kwargs: Any) -> None:
        registry.add_callback(BeforeInvocationEvent, self.hand_on)

    def hand_on(self, event: BeforeInvocationEvent) -> None:
        if self.facts:
            event.invocation_state[REQUEST_FACTS] = self.facts
        if self.scope is not None:
            event.invocation_state[CLUSTER_SCOPE] = self.scope
