"""Probes go out and gather facts (observations) about an endpoint or a domain; they never judge
and never raise for network trouble. Import the submodules; the package itself exports nothing."""

__all__: list[str] = []
