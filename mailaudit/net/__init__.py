"""The only code that does I/O: the connection driver, the resolver, HTTP, TLS facts and the
sslyze adapter. Import the submodules; the package itself exports nothing."""

__all__: list[str] = []
