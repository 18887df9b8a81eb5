"""The audit run: which endpoints to look at, and the run that ties probes and checks together
(`mailaudit.audit.runner.run_audit`)."""

__all__: list[str] = []
