"""Pure judgement: facts in, findings and check runs out, no I/O. Import the submodules; the
package itself exports nothing."""

__all__: list[str] = []
