"""The one door to sslyze: scan many TLS endpoints in one sslyze run and map what it found into
our own frozen dataclasses (the `TlsScan` model below).

Nothing from sslyze leaks out of this module: callers get `TlsScan` values, whose fields are
strings, numbers, enums of ours and `CertificateInfo`. A failed scan command is data
(`ScanError`), never an exception; a dead endpoint is a `TlsScan` with `connected=False`.

sslyze is imported lazily, inside the functions that run it, so that the model can be imported
(by the checks, the report, the tests) without loading sslyze and its OpenSSL bindings.

Design notes
- One `Scanner` for every target: sslyze overlaps the servers' scans in its own threads, and
  `per_server_concurrent_connections_limit` is our politeness limit per (address, port).
- Each (address, port) is scanned once; the names of every target that points there are merged
  and the certificate is matched against each of them.
- `ServerNetworkLocation` gets the address our resolver chose, so sslyze never resolves names.
- Trust is judged apart from names and dates: sslyze's path validation (Mozilla and the other
  stores it ships, plus our CA file as "Supplied CA file") checks the chain, the name we sent as
  SNI and the clock all at once, so an expired or misnamed certificate would also look
  "untrusted". `mailaudit.net.chain` validates the chain with `cryptography.x509.verification`
  against the system store, sslyze's Mozilla store and the CA file at the run's clock, for a
  name the leaf covers and at an instant inside its validity, so an expired certificate is
  "expired" and a misnamed one "wrong name", not also "untrusted". sslyze's per-store verdicts
  stay in the report as `store_results`.
- sslyze cannot be cancelled. With a deadline we stop waiting and report the unfinished targets
  as timed out; sslyze's own threads end when their per-connection timeouts fire.
"""

from __future__ import annotations

import queue
import ssl
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning

from mailaudit.model import (
    CIPHER_PARTS,
    CertificateDeployment,
    CipherSuite,
    ProtocolScan,
    ScanError,
    ScanErrorReason,
    ScanPart,
    TlsScan,
    TlsTarget,
    TlsVersion,
    Vulnerabilities,
)
from mailaudit.net.chain import TrustAnchors
from mailaudit.net.tls import describe_certificate, name_matches

if TYPE_CHECKING:
    from traceback import TracebackException
    from uuid import UUID

    from sslyze.plugins.certificate_info._cert_chain_analyzer import (
        CertificateDeploymentAnalysisResult,
    )
    from sslyze.plugins.openssl_cipher_suites.implementation import CipherSuitesScanResult
    from sslyze.plugins.scan_commands import ScanCommand
    from sslyze.scanner.models import AllScanCommandsAttempts, ServerScanRequest, ServerScanResult
    from sslyze.scanner.scan_command_attempt import ScanCommandAttempt

__all__ = ["scan_endpoints"]


# ----------------------------------------------------------------------------------- scanning


def scan_endpoints(
    targets: Sequence[TlsTarget],
    *,
    now: datetime,
    ca_file: str | None = None,
    ehlo_name: str = "mailaudit.invalid",
    network_timeout_s: float = 5.0,
    network_max_retries: int = 2,
    connections_per_server: int = 1,
    max_concurrent_servers: int = 10,
    deadline_s: float | None = None,
) -> list[TlsScan]:
    """Scan every target with sslyze, all in one run, each (address, port) once. Blocking: run
    it with `asyncio.to_thread`. Returns one `TlsScan` per distinct (address, port), in the
    order first seen; targets that share one are merged (names joined, first host kept).

    `connections_per_server` is the politeness limit per (address, port); `deadline_s` bounds
    the whole run: scans not finished by then come back with a `deadline` error. `now` is the
    run's clock, the instant at which chains are validated."""
    merged = _merge_targets(targets)
    if not merged:
        return []
    started = time.monotonic()
    try:
        return _scan(
            merged,
            now=now,
            ca_file=ca_file,
            ehlo_name=ehlo_name,
            network_timeout_s=network_timeout_s,
            network_max_retries=network_max_retries,
            connections_per_server=connections_per_server,
            max_concurrent_servers=max_concurrent_servers,
            deadline_s=deadline_s,
            started=started,
        )
    except Exception as exc:  # a failure of the scanner itself is data too
        elapsed = int((time.monotonic() - started) * 1000)
        error = ScanError(ScanPart.SCAN, ScanErrorReason.SCANNER_ERROR, _one_line(exc))
        return [TlsScan(t, connected=False, errors=(error,), elapsed_ms=elapsed) for t in merged]


def _merge_targets(targets: Sequence[TlsTarget]) -> list[TlsTarget]:
    by_key: dict[tuple[str, int], TlsTarget] = {}
    for target in targets:
        known = by_key.get(target.key)
        if known is None:
            by_key[target.key] = replace(target, names=target.all_names)
        else:
            names = dict.fromkeys((*known.all_names, *target.all_names))
            by_key[target.key] = replace(known, names=tuple(names))
    return list(by_key.values())


def _scan(
    targets: list[TlsTarget],
    *,
    now: datetime,
    ca_file: str | None,
    ehlo_name: str,
    network_timeout_s: float,
    network_max_retries: int,
    connections_per_server: int,
    max_concurrent_servers: int,
    deadline_s: float | None,
    started: float,
) -> list[TlsScan]:
    from sslyze.scanner.scanner import Scanner

    config_errors: list[ScanError] = []
    ca_path = Path(ca_file) if ca_file else None
    if ca_path is not None and not ca_path.is_file():
        config_errors.append(
            ScanError(
                ScanPart.CERTIFICATE,
                ScanErrorReason.CONFIGURATION,
                f"CA file {ca_file} cannot be read; trust judged without it",
            )
        )
        ca_path = None
    anchors = _load_anchors(ca_path)
    scans: dict[tuple[str, int], TlsScan] = {}
    request_objects: list[ServerScanRequest] = []
    by_uuid: dict[UUID, TlsTarget] = {}
    for target in targets:
        try:
            request = _request(target, ca_path, ehlo_name, network_timeout_s, network_max_retries)
        except Exception as exc:  # e.g. a host name IDNA cannot encode: this target only
            error = ScanError(ScanPart.SCAN, ScanErrorReason.CONFIGURATION, _one_line(exc))
            scans[target.key] = TlsScan(target, connected=False, errors=(error,))
            continue
        request_objects.append(request)
        by_uuid[request.uuid] = target
    if not request_objects:
        return [scans[t.key] for t in targets]
    scanner = Scanner(
        per_server_concurrent_connections_limit=max(1, connections_per_server),
        concurrent_server_scans_limit=max(1, min(max_concurrent_servers, len(request_objects))),
    )
    scanner.queue_scans(request_objects)

    failure: list[Exception] = []
    for result in _results_until(scanner.get_results(), started, deadline_s, failure):
        scanned = by_uuid.get(result.uuid)
        if scanned is None:
            continue
        elapsed = int((time.monotonic() - started) * 1000)
        try:
            scan = _map_result(scanned, result, anchors, now, elapsed)
        except Exception as exc:  # one odd result must not cost the others
            error = ScanError(ScanPart.SCAN, ScanErrorReason.SCANNER_ERROR, _one_line(exc))
            scan = TlsScan(scanned, connected=False, errors=(error,), elapsed_ms=elapsed)
        if config_errors:
            scan = replace(scan, errors=(*scan.errors, *config_errors))
        scans[scanned.key] = scan

    out: list[TlsScan] = []
    for target in targets:
        found = scans.get(target.key)
        if found is None:
            if failure:
                error = ScanError(
                    ScanPart.SCAN, ScanErrorReason.SCANNER_ERROR, _one_line(failure[0])
                )
            else:
                message = f"no result within the {deadline_s or 0:.0f} s deadline"
                error = ScanError(ScanPart.SCAN, ScanErrorReason.DEADLINE, message)
            found = TlsScan(
                target,
                connected=False,
                errors=(error,),
                elapsed_ms=int((time.monotonic() - started) * 1000),
            )
        out.append(found)
    return out


def _request(
    target: TlsTarget,
    ca_path: Path | None,
    ehlo_name: str,
    network_timeout_s: float,
    network_max_retries: int,
) -> ServerScanRequest:
    from sslyze.connection_helpers.opportunistic_tls_helpers import (
        ProtocolWithOpportunisticTlsEnum,
    )
    from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
    from sslyze.scanner.models import ScanCommandsExtraArguments, ServerScanRequest
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    starttls = {
        "smtp": ProtocolWithOpportunisticTlsEnum.SMTP,
        "imap": ProtocolWithOpportunisticTlsEnum.IMAP,
        "pop3": ProtocolWithOpportunisticTlsEnum.POP3,
    }
    opportunistic = None if target.scheme.implicit_tls else starttls[target.scheme.family]
    config = ServerNetworkConfiguration(
        tls_server_name_indication=target.host.lower().rstrip("."),
        tls_opportunistic_encryption=opportunistic,
        smtp_ehlo_hostname=ehlo_name
        if opportunistic is ProtocolWithOpportunisticTlsEnum.SMTP
        else None,
        # sslyze takes whole seconds.
        network_timeout=max(1, round(network_timeout_s)),
        network_max_retries=max(1, network_max_retries),
    )
    extra = ScanCommandsExtraArguments(
        certificate_info=CertificateInfoExtraArgument(custom_ca_file=ca_path) if ca_path else None
    )
    return ServerScanRequest(
        server_location=ServerNetworkLocation(
            target.host.lower().rstrip("."), target.port, ip_address=target.address
        ),
        network_configuration=config,
        scan_commands=_scan_commands(),
        scan_commands_extra_arguments=extra,
    )


def _scan_commands() -> set[ScanCommand]:
    from sslyze.plugins.scan_commands import ScanCommand

    return {
        ScanCommand.CERTIFICATE_INFO,
        ScanCommand.SSL_2_0_CIPHER_SUITES,
        ScanCommand.SSL_3_0_CIPHER_SUITES,
        ScanCommand.TLS_1_0_CIPHER_SUITES,
        ScanCommand.TLS_1_1_CIPHER_SUITES,
        ScanCommand.TLS_1_2_CIPHER_SUITES,
        ScanCommand.TLS_1_3_CIPHER_SUITES,
        ScanCommand.TLS_COMPRESSION,
        ScanCommand.OPENSSL_CCS_INJECTION,
        ScanCommand.TLS_FALLBACK_SCSV,
        ScanCommand.HEARTBLEED,
        ScanCommand.ROBOT,
        ScanCommand.SESSION_RENEGOTIATION,
    }


_DONE = object()


def _results_until(
    results: Iterator[ServerScanResult],
    started: float,
    deadline_s: float | None,
    failure: list[Exception],
) -> Iterator[ServerScanResult]:
    """Yield sslyze's results until the deadline; an exception from sslyze ends the stream and
    lands in `failure`. sslyze's generator blocks until the next server is done, so with a
    deadline it is drained in a daemon thread and we wait on a queue with a timeout."""
    if deadline_s is None:
        try:
            yield from results
        except Exception as exc:
            failure.append(exc)
        return
    box: queue.Queue[object] = queue.Queue()

    def drain() -> None:
        try:
            for item in results:
                box.put(item)
        except Exception as exc:
            box.put(exc)
        finally:
            box.put(_DONE)

    threading.Thread(target=drain, name="mailaudit-sslyze", daemon=True).start()
    while True:
        remaining = deadline_s - (time.monotonic() - started)
        if remaining <= 0:
            return
        try:
            item = box.get(timeout=remaining)
        except queue.Empty:
            return
        if item is _DONE:
            return
        if isinstance(item, Exception):
            failure.append(item)
            return
        yield item  # type: ignore[misc]


# ------------------------------------------------------------------------------------ mapping


def _map_result(
    target: TlsTarget,
    result: ServerScanResult,
    anchors: TrustAnchors,
    now: datetime,
    elapsed_ms: int,
) -> TlsScan:
    from sslyze.scanner.models import ServerScanStatusEnum

    if result.scan_status is not ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        trace = result.connectivity_error_trace
        reason, message = _connectivity_error(trace)
        error = ScanError(ScanPart.CONNECTIVITY, reason, message)
        return TlsScan(target, connected=False, errors=(error,), elapsed_ms=elapsed_ms)

    attempts = result.scan_result
    errors: list[ScanError] = []
    with warnings.catch_warnings():
        # Certificates with RFC 5280 quirks (negative serials) are facts to report, not noise.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        protocols = _map_protocols(attempts, errors)
        certificates = _map_certificates(target, attempts, anchors, now, errors)
        vulnerabilities = _map_vulnerabilities(attempts, errors)
    return TlsScan(
        target=target,
        connected=True,
        protocols=protocols,
        certificates=certificates,
        vulnerabilities=vulnerabilities,
        errors=tuple(errors),
        elapsed_ms=elapsed_ms,
    )


def _connectivity_error(trace: TracebackException | None) -> tuple[ScanErrorReason, str]:
    """Our reason for one of sslyze's connection exceptions; CONNECTIVITY when not one."""
    if trace is None:
        return ScanErrorReason.CONNECTIVITY, "the server could not be reached"
    name = str(getattr(trace, "exc_type_str", None) or getattr(trace.exc_type, "__name__", ""))
    message = "".join(trace.format_exception_only()).strip()
    message = message.split(": ", 1)[-1] if ": " in message else message
    reason = {
        "ConnectionToServerTimedOut": ScanErrorReason.TIMEOUT,
        "TlsHandshakeTimedOut": ScanErrorReason.TIMEOUT,
        "ServerRejectedConnection": ScanErrorReason.REFUSED,
        "ServerRejectedOpportunisticTlsNegotiation": ScanErrorReason.STARTTLS_REFUSED,
        "ServerRejectedTlsHandshake": ScanErrorReason.HANDSHAKE_FAILED,
        "ServerTlsConfigurationNotSupported": ScanErrorReason.TLS_NOT_SUPPORTED,
    }.get(name.rsplit(".", 1)[-1], ScanErrorReason.CONNECTIVITY)
    if reason is ScanErrorReason.STARTTLS_REFUSED and "timed out" in message:
        # sslyze reports a greeting or EHLO that never came as a refused STARTTLS.
        reason = ScanErrorReason.TIMEOUT
    return reason, message


def _attempt_error(part: ScanPart, attempt: ScanCommandAttempt[Any]) -> ScanError | None:
    from sslyze.scanner.scan_command_attempt import (
        ScanCommandAttemptStatusEnum,
        ScanCommandErrorReasonEnum,
    )

    if attempt.status is ScanCommandAttemptStatusEnum.COMPLETED and attempt.result is not None:
        return None
    if attempt.status is ScanCommandAttemptStatusEnum.NOT_SCHEDULED:
        return ScanError(part, ScanErrorReason.SCANNER_ERROR, "not scheduled")
    reason = {
        ScanCommandErrorReasonEnum.CONNECTIVITY_ISSUE: ScanErrorReason.CONNECTIVITY,
        ScanCommandErrorReasonEnum.CLIENT_CERTIFICATE_NEEDED: (
            ScanErrorReason.CLIENT_CERTIFICATE_NEEDED
        ),
    }.get(
        attempt.error_reason or ScanCommandErrorReasonEnum.BUG_IN_SSLYZE,
        ScanErrorReason.SCANNER_ERROR,
    )
    message = "failed"
    trace = attempt.error_trace
    if trace is not None:
        message = "".join(trace.format_exception_only()).strip() or message
        # sslyze files a connection refused or timed out in the middle of a command under "bug";
        # the exception's type says what happened.
        by_type, _ = _connectivity_error(trace)
        if by_type is not ScanErrorReason.CONNECTIVITY:
            reason = by_type
    return ScanError(part, reason, message)


_CIPHER_FIELDS: tuple[tuple[TlsVersion, str], ...] = (
    (TlsVersion.SSL_2_0, "ssl_2_0_cipher_suites"),
    (TlsVersion.SSL_3_0, "ssl_3_0_cipher_suites"),
    (TlsVersion.TLS_1_0, "tls_1_0_cipher_suites"),
    (TlsVersion.TLS_1_1, "tls_1_1_cipher_suites"),
    (TlsVersion.TLS_1_2, "tls_1_2_cipher_suites"),
    (TlsVersion.TLS_1_3, "tls_1_3_cipher_suites"),
)


def _map_protocols(
    attempts: AllScanCommandsAttempts, errors: list[ScanError]
) -> tuple[ProtocolScan, ...]:
    protocols: list[ProtocolScan] = []
    for version, field_name in _CIPHER_FIELDS:
        attempt: ScanCommandAttempt[CipherSuitesScanResult] = getattr(attempts, field_name)
        error = _attempt_error(CIPHER_PARTS[version], attempt)
        if error is not None or attempt.result is None:
            errors.append(
                error
                or ScanError(CIPHER_PARTS[version], ScanErrorReason.SCANNER_ERROR, "no result")
            )
            continue
        accepted = tuple(_cipher_suite(a) for a in attempt.result.accepted_cipher_suites)
        protocols.append(ProtocolScan(version, accepted))
    return tuple(protocols)


def _cipher_suite(accepted: object) -> CipherSuite:
    from nassl.ephemeral_key_info import DhEphemeralKeyInfo, EcDhEphemeralKeyInfo
    from sslyze.plugins.openssl_cipher_suites._test_cipher_suite import CipherSuiteAcceptedByServer

    assert isinstance(accepted, CipherSuiteAcceptedByServer)
    suite = accepted.cipher_suite
    key = accepted.ephemeral_key
    kex: str | None = None
    group: str | None = None
    bits: int | None = None
    if isinstance(key, EcDhEphemeralKeyInfo):
        kex, group, bits = "ECDH", key.curve_name, key.size
    elif isinstance(key, DhEphemeralKeyInfo):
        kex, bits = "DH", key.size
    return CipherSuite(
        name=suite.name,
        openssl_name=suite.openssl_name,
        key_bits=suite.key_size,
        anonymous=suite.is_anonymous,
        key_exchange=kex,
        key_exchange_group=group,
        key_exchange_bits=bits,
    )


def _map_vulnerabilities(
    attempts: AllScanCommandsAttempts, errors: list[ScanError]
) -> Vulnerabilities:
    def completed(part: ScanPart, attempt: ScanCommandAttempt[Any]) -> bool:
        error = _attempt_error(part, attempt)
        if error is not None:
            errors.append(error)
        return error is None

    heartbleed = robot = ccs = None
    secure_reneg = client_reneg = compression = scsv = None
    if completed(ScanPart.HEARTBLEED, attempts.heartbleed) and attempts.heartbleed.result:
        heartbleed = attempts.heartbleed.result.is_vulnerable_to_heartbleed
    if completed(ScanPart.ROBOT, attempts.robot) and attempts.robot.result:
        robot = attempts.robot.result.robot_result.value.lower()
    ccs_attempt = attempts.openssl_ccs_injection
    if completed(ScanPart.CCS_INJECTION, ccs_attempt) and ccs_attempt.result:
        ccs = ccs_attempt.result.is_vulnerable_to_ccs_injection
    reneg = attempts.session_renegotiation
    if completed(ScanPart.RENEGOTIATION, reneg) and reneg.result:
        secure_reneg = reneg.result.supports_secure_renegotiation
        client_reneg = reneg.result.is_vulnerable_to_client_renegotiation_dos
    comp = attempts.tls_compression
    if completed(ScanPart.COMPRESSION, comp) and comp.result:
        compression = comp.result.supports_compression
    fallback = attempts.tls_fallback_scsv
    if completed(ScanPart.FALLBACK_SCSV, fallback) and fallback.result:
        scsv = fallback.result.supports_fallback_scsv
    return Vulnerabilities(
        heartbleed=heartbleed,
        robot=robot,
        ccs_injection=ccs,
        secure_renegotiation=secure_reneg,
        client_renegotiation_dos=client_reneg,
        compression=compression,
        fallback_scsv=scsv,
    )


# ------------------------------------------------------------------------------ certificates


def _map_certificates(
    target: TlsTarget,
    attempts: AllScanCommandsAttempts,
    anchors: TrustAnchors,
    now: datetime,
    errors: list[ScanError],
) -> tuple[CertificateDeployment, ...]:
    attempt = attempts.certificate_info
    error = _attempt_error(ScanPart.CERTIFICATE, attempt)
    if error is not None or attempt.result is None:
        errors.append(
            error or ScanError(ScanPart.CERTIFICATE, ScanErrorReason.SCANNER_ERROR, "no result")
        )
        return ()
    return tuple(
        _deployment(target, d, anchors, now) for d in attempt.result.certificate_deployments
    )


def _deployment(
    target: TlsTarget,
    deployment: CertificateDeploymentAnalysisResult,
    anchors: TrustAnchors,
    now: datetime,
) -> CertificateDeployment:
    received = list(deployment.received_certificate_chain)
    chain = tuple(describe_certificate(c.public_bytes(Encoding.DER)) for c in received)
    leaf = chain[0]
    all_stores = {
        r.trust_store.name: (
            "" if r.was_validation_successful else (r.validation_error or "failed")
        )
        for r in deployment.path_validation_results
    }
    # The other stores sslyze ships (Apple, Android, Java, Windows) repeat Mozilla's verdict for
    # mail servers; the report keeps Mozilla's and our CA file's.
    store_results = {k: v for k, v in all_stores.items() if k in _STORES_REPORTED}
    # Our own verdict, dates and name aside (the checks judge those): see mailaudit.net.chain.
    trusted, trust_error = anchors.verdict(received, at=now)
    ocsp = deployment.ocsp_response
    ocsp_status: str | None = None
    if ocsp is not None:
        ocsp_status = _ocsp_status(ocsp)
    return CertificateDeployment(
        chain=chain,
        trusted=trusted,
        trust_error=trust_error,
        store_results=store_results,
        name_matches={n: name_matches(leaf.dns_names, n) for n in target.all_names},
        ocsp_stapled=ocsp is not None,
        ocsp_status=ocsp_status,
        ocsp_trusted=deployment.ocsp_response_is_trusted,
        must_staple=deployment.leaf_certificate_has_must_staple_extension,
        chain_in_order=deployment.received_chain_has_valid_order,
    )


_STORES_REPORTED = ("Mozilla", "Supplied CA file")


def _ocsp_status(response: object) -> str:
    from cryptography.x509 import ocsp

    assert isinstance(response, ocsp.OCSPResponse)
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        return response.response_status.name.lower()
    return response.certificate_status.name.lower()


def _load_anchors(ca_path: Path | None) -> TrustAnchors:
    """Loaded once per scan run (no module-level cache); also warms sslyze's own trust store
    repository here, in one thread, while deprecation warnings are silenced."""
    from sslyze.plugins.certificate_info.trust_stores.trust_store_repository import (
        TrustStoresRepository,
    )

    paths: list[Path] = []
    with warnings.catch_warnings():
        # sslyze's bundled stores hold a root with a negative serial number; cryptography warns.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        repository = TrustStoresRepository.get_default()
        paths.append(repository.get_main_store().path)
        system = ssl.get_default_verify_paths().cafile
        if system:
            paths.append(Path(system))
        if ca_path is not None:
            paths.append(ca_path)
        certificates: list[x509.Certificate] = []
        for path in paths:
            certificates.extend(_read_pem_bundle(path))
    return TrustAnchors(certificates)


def _read_pem_bundle(path: Path) -> list[x509.Certificate]:
    try:
        data = path.read_bytes()
    except OSError:
        return []
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        pass
    # One bad entry must not cost the whole bundle.
    out: list[x509.Certificate] = []
    marker = b"-----BEGIN CERTIFICATE-----"
    for chunk in data.split(marker)[1:]:
        try:
            out.append(x509.load_pem_x509_certificate(marker + chunk))
        except ValueError:
            continue
    return out


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
