"""HTTP message signatures: signing outgoing requests and checking incoming ones.

Two schemes are spoken:

* draft-cavage-http-signatures-12, the one Mastodon and most of the fediverse use. The pod
  signs outgoing deliveries with it (``sign_request``).
* RFC 9421 (HTTP Message Signatures), which newer peers are starting to send
  (``sign_request_rfc9421`` exists mainly for tests and hostile-peer simulations).

Verification is split in two phases so that fetching the signer's key (network I/O) stays
outside this module:

1. ``check_request`` parses the signature, enforces the policy (what must be covered, host,
   clock window, body digest) and builds the exact bytes that were signed. It raises
   ``SignatureError`` on any problem and otherwise returns a ``PendingSignature``.
2. The caller looks up ``PendingSignature.key_id`` and calls ``PendingSignature.verify(key)``.

Everything here is pure: no network, no disk, no module-level mutable state.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Literal
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

__all__ = (
    "PendingSignature",
    "PublicKey",
    "SignatureError",
    "carries_signature",
    "check_request",
    "content_digest_header",
    "digest_header",
    "format_http_date",
    "load_public_key",
    "parse_http_date",
    "sign_request",
    "sign_request_rfc9421",
)

PublicKey = RSAPublicKey | Ed25519PublicKey
Scheme = Literal["cavage", "rfc9421"]

DEFAULT_CONTENT_TYPE = "application/activity+json"

# --- constants (immutable by construction) -------------------------------------------------

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_IMF_FIXDATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT"
)

# Methods that carry a body by definition: an empty body still has to be digested, otherwise
# an attacker could strip the body and the Digest header off a captured request.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

# draft-cavage: "hs2019" means "look at the key"; rsa-sha256 is what Mastodon sends.
_CAVAGE_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
_RFC9421_ALGORITHMS = frozenset({"rsa-v1_5-sha256", "rsa-pss-sha512", "ed25519"})

# Digest (RFC 3230) names are case-insensitive; Content-Digest (RFC 9530) keys are lowercase.
_DIGEST_HASHES = MappingProxyType({"sha-256": "sha256", "sha-512": "sha512"})

# One `name=value` pair of a draft-cavage Signature header; value is a quoted string or a
# bare number (the `created` / `expires` parameters). The quoted string is written as runs of
# plain characters between escapes: the same language as (plain | escape)*, but matched a run
# at a time instead of one alternation per character (a signature is hundreds of characters).
_CAVAGE_PARAM = re.compile(
    r"[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*"
    r'(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([0-9]+(?:\.[0-9]+)?))[ \t]*'
)
_BACKSLASH_ESCAPE = re.compile(r"\\(.)")
_INTEGER = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")

# RFC 8941 structured-field grammar pieces.
_SF_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_SF_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_SF_NUMBER = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?")
_SF_STRING = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
_SF_BYTES = re.compile(r":([A-Za-z0-9+/=]*):")
_SF_STRING_ESCAPE = re.compile(r'\\(["\\])')
_SF_PRINTABLE = re.compile(r"[\x20-\x7e]*")

_DERIVED_COMPONENTS = frozenset(
    {"@method", "@target-uri", "@authority", "@scheme", "@path", "@query", "@request-target"}
)


# --- errors and results ---------------------------------------------------------------------


class SignatureError(Exception):
    """A request's signature cannot be accepted.

    ``code`` is a stable machine-readable reason, ``message`` is safe to show to the peer
    (it never contains key material or the expected signing string).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class PendingSignature:
    """A signature whose policy checks passed; only the cryptographic check is left."""

    key_id: str
    scheme: Scheme
    # cavage: "rsa-sha256" or "hs2019"; RFC 9421: the `alg` parameter, or "" when the signer
    # left it out (the algorithm is then inferred from the key type).
    algorithm: str
    covered: tuple[str, ...]
    signing_string: bytes
    signature: bytes

    def verify(self, public_key: object) -> bool:
        """Check the signature with the signer's public key. Never raises on bad input."""
        try:
            if isinstance(public_key, RSAPublicKey):
                return self._verify_rsa(public_key)
            if isinstance(public_key, Ed25519PublicKey):
                if self.algorithm not in ("ed25519", "hs2019", ""):
                    return False
                public_key.verify(self.signature, self.signing_string)
                return True
        except (InvalidSignature, ValueError, TypeError):
            return False
        return False

    def require_valid(self, public_key: object) -> None:
        """Like ``verify`` but raises ``SignatureError("signature_invalid")`` on failure."""
        if not self.verify(public_key):
            raise SignatureError("signature_invalid", "signature does not verify")

    def _verify_rsa(self, key: RSAPublicKey) -> bool:
        pkcs1 = self.algorithm in ("rsa-sha256", "hs2019", "rsa-v1_5-sha256", "")
        pss = self.algorithm in ("rsa-pss-sha512", "")
        if pkcs1:
            try:
                key.verify(self.signature, self.signing_string, padding.PKCS1v15(), hashes.SHA256())
                return True
            except InvalidSignature:
                if not pss:
                    return False
        if pss:
            # An undeclared RFC 9421 alg on an RSA key may be either registered RSA scheme;
            # forging either still needs the private key. RFC 9421 §3.3.1 fixes the salt at
            # 64 bytes for signing; accepting any salt length when verifying helps interop.
            pss_padding = padding.PSS(
                mgf=padding.MGF1(hashes.SHA512()), salt_length=padding.PSS.AUTO
            )
            key.verify(self.signature, self.signing_string, pss_padding, hashes.SHA512())
            return True
        return False


# --- small public helpers -------------------------------------------------------------------


def digest_header(body: bytes) -> str:
    """RFC 3230 ``Digest`` value, as Mastodon expects it."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest_header(body: bytes) -> str:
    """RFC 9530 ``Content-Digest`` value."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def format_http_date(when: datetime) -> str:
    """RFC 7231 IMF-fixdate. Built by hand because ``strftime`` names depend on the locale."""
    t = _as_utc(when)
    return (
        f"{_WEEKDAYS[t.weekday()]}, {t.day:02d} {_MONTHS[t.month - 1]} {t.year:04d} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} GMT"
    )


def parse_http_date(value: str) -> datetime | None:
    """Parse an HTTP date (IMF-fixdate, plus the obsolete RFC 850 / asctime forms).

    Returns an aware UTC datetime, or None if the value is not a date.
    """
    text = value.strip()
    m = _IMF_FIXDATE.fullmatch(text)
    try:
        if m is not None:
            day, month, year, hour, minute, second = m.groups()
            return datetime(
                int(year),
                _MONTHS.index(month) + 1,
                int(day),
                int(hour),
                int(minute),
                int(second),
                tzinfo=UTC,
            )
        parsed = email.utils.parsedate_tz(text)
        if parsed is None:
            return None
        offset = parsed[9] or 0
        naive = datetime(*parsed[:6])
        return (naive - timedelta(seconds=offset)).replace(tzinfo=UTC)
    except (ValueError, OverflowError, TypeError, IndexError):
        return None


def load_public_key(pem: str) -> PublicKey:
    """Load an RSA or Ed25519 public key from PEM (SPKI or PKCS#1). Raises ValueError."""
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
        raise ValueError("not a usable PEM public key") from exc
    if not isinstance(key, RSAPublicKey | Ed25519PublicKey):
        raise ValueError(f"unsupported public key type {type(key).__name__}")
    return key


# --- signing --------------------------------------------------------------------------------


def sign_request(
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    private_key: RSAPrivateKey,
    now: datetime,
    content_type: str | None = DEFAULT_CONTENT_TYPE,
    accept: str | None = None,
) -> dict[str, str]:
    """Sign a request with draft-cavage rsa-sha256, the way Mastodon does.

    Returns the headers to add to the request (Host, Date, Digest, Content-Type, Accept,
    Signature as applicable).
    """
    if '"' in key_id or "\\" in key_id or not _SF_PRINTABLE.fullmatch(key_id):
        # The cavage grammar has no escaping rules worth relying on.
        raise ValueError("key_id must be printable ASCII without quotes or backslashes")
    host, target = _split_url(url)
    headers = {"Host": host, "Date": format_http_date(now)}
    lines = [f"(request-target): {method.lower()} {target}", f"host: {host}"]
    lines.append(f"date: {headers['Date']}")
    names = ["(request-target)", "host", "date"]
    if body is not None:
        headers["Digest"] = digest_header(body)
        lines.append(f"digest: {headers['Digest']}")
        names.append("digest")
        if content_type:
            headers["Content-Type"] = content_type
            lines.append(f"content-type: {content_type}")
            names.append("content-type")
    if accept:
        headers["Accept"] = accept
        lines.append(f"accept: {accept}")
        names.append("accept")
    signed = private_key.sign("\n".join(lines).encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    headers["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signed).decode("ascii")}"'
    )
    return headers


def sign_request_rfc9421(
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    private_key: RSAPrivateKey | Ed25519PrivateKey,
    now: datetime,
    content_type: str | None = DEFAULT_CONTENT_TYPE,
    algorithm: str | None = None,
    label: str = "sig1",
) -> dict[str, str]:
    """Sign a request per RFC 9421.

    ``algorithm`` defaults to ``rsa-v1_5-sha256`` for RSA keys and ``ed25519`` for Ed25519
    keys; ``rsa-pss-sha512`` may be chosen for RSA keys.
    """
    if not _SF_PRINTABLE.fullmatch(key_id):
        raise ValueError("key_id must be printable ASCII")
    if not _SF_KEY.fullmatch(label):
        raise ValueError("label must be a structured-field key")
    if isinstance(private_key, Ed25519PrivateKey):
        alg = algorithm or "ed25519"
        if alg != "ed25519":
            raise ValueError(f"{alg} does not fit an Ed25519 key")
    else:
        alg = algorithm or "rsa-v1_5-sha256"
        if alg not in ("rsa-v1_5-sha256", "rsa-pss-sha512"):
            raise ValueError(f"{alg} does not fit an RSA key")

    host, target = _split_url(url)
    scheme = urlsplit(url).scheme.lower()
    headers = {"Host": host, "Date": format_http_date(now)}
    values = {
        "@method": method.upper(),
        "@target-uri": f"{scheme}://{host}{target}",
        "host": host,
        "date": headers["Date"],
    }
    if body is not None:
        headers["Content-Digest"] = values["content-digest"] = content_digest_header(body)
        if content_type:
            headers["Content-Type"] = values["content-type"] = content_type
    components = tuple(_Item(name, {}) for name in values)
    params: dict[str, _Bare] = {
        "created": int(_as_utc(now).timestamp()),
        "keyid": key_id,
        "alg": alg,
    }
    inner = _InnerList(components, params)
    serialized = _sf_serialize_inner_list(inner)
    base = "\n".join(
        [*(f'"{n}": {v}' for n, v in values.items()), f'"@signature-params": {serialized}']
    )
    data = base.encode("utf-8")
    if isinstance(private_key, Ed25519PrivateKey):
        signed = private_key.sign(data)
    elif alg == "rsa-pss-sha512":
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
        signed = private_key.sign(data, pss, hashes.SHA512())
    else:
        signed = private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    headers["Signature-Input"] = f"{label}={serialized}"
    headers["Signature"] = f"{label}=:{base64.b64encode(signed).decode('ascii')}:"
    return headers


def _split_url(url: str) -> tuple[str, str]:
    """(host[:port] lowercased, path?query) of an absolute URL."""
    parts = urlsplit(url)
    # userinfo never goes into Host; lowercasing keeps @target-uri and Host consistent.
    host = parts.netloc.rpartition("@")[2].lower()
    if not host:
        raise ValueError(f"not an absolute URL: {url!r}")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return host, target


# --- verification ---------------------------------------------------------------------------


def check_request(
    method: str,
    path_qs: str,
    headers: Mapping[str, str],
    body: bytes | None,
    expected_host: str,
    now: datetime,
    window: timedelta,
    scheme: str = "http",
) -> PendingSignature:
    """Parse and policy-check the signature of an incoming request.

    ``path_qs`` is the request target exactly as received (raw path plus query string);
    ``expected_host`` is this pod's host[:port]; ``scheme`` the public scheme of the pod.
    Raises ``SignatureError``; on success the caller fetches the key and calls ``verify``.
    """
    h = _normalise_headers(headers)
    now = _as_utc(now)
    has_body = bool(body) or method.upper() in _BODY_METHODS
    req = _Request(method, path_qs, h, body or b"", has_body, expected_host, now, window, scheme)
    if "signature-input" in h:
        return _check_rfc9421(req)
    raw = _cavage_header(h)
    if raw is None:
        raise SignatureError("signature_missing", "request is not signed")
    return _check_cavage(req, raw)


def carries_signature(headers: Mapping[str, str]) -> bool:
    """Whether the request is signed in one of the forms ``check_request`` reads (one that is
    not, e.g. an unsigned GET of a public object, is answered as anyone's)."""
    h = _normalise_headers(headers)
    return "signature-input" in h or _cavage_header(h) is not None


def _cavage_header(h: dict[str, str]) -> str | None:
    """The draft-cavage signature: the Signature header, or `Authorization: Signature ...`."""
    raw = h.get("signature")
    if raw is None:
        auth_scheme, _, rest = h.get("authorization", "").strip().partition(" ")
        if auth_scheme.lower() == "signature" and rest.strip():
            raw = rest
    return raw


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: bytes
    has_body: bool
    expected_host: str
    now: datetime
    window: timedelta
    scheme: str


def _normalise_headers(headers: Mapping[str, str]) -> dict[str, str]:
    # Repeated fields are combined with ", " as both schemes prescribe; a duplicated Host or
    # Signature therefore fails later instead of one copy being silently picked.
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        prev = out.get(key)
        out[key] = value if prev is None else f"{prev}, {value}"
    return out


def _as_utc(when: datetime) -> datetime:
    # Naive datetimes are taken to be UTC rather than local time: servers run in UTC and a
    # silent local-time shift would open or close the replay window by hours.
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _check_host(req: _Request) -> None:
    host = req.headers.get("host")
    if host is None or host.strip().lower() != req.expected_host.strip().lower():
        raise SignatureError("host_mismatch", "Host header does not name this server")


def _check_time(req: _Request, when: datetime, what: str) -> None:
    if abs(when - req.now) > req.window:
        raise SignatureError("date_out_of_window", f"{what} is too far from the current time")


def _check_date_header(req: _Request) -> None:
    raw = req.headers.get("date")
    if raw is None:
        raise SignatureError("date_missing", "Date header is signed but absent")
    when = parse_http_date(raw)
    if when is None:
        raise SignatureError("signature_malformed", "Date header is not an HTTP date")
    _check_time(req, when, "Date")


def _timestamp(value: float) -> datetime:
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureError("signature_malformed", "timestamp out of range") from exc


def _digest_mismatch() -> SignatureError:
    return SignatureError("digest_mismatch", "body does not match its digest")


def _check_digest(body: bytes, pairs: list[tuple[str, bytes | None]], header: str) -> None:
    """Every supported algorithm listed must match; at least one must be listed.

    ``pairs`` holds (lowercased algorithm, decoded value or None if undecodable).
    """
    # One hash per algorithm, however often it is listed: the values are the sender's, and a
    # header repeating one value thousands of times must not hash the body thousands of times.
    expected: dict[str, bytes] = {}
    for alg, value in pairs:
        hash_name = _DIGEST_HASHES.get(alg)
        if hash_name is None:
            continue
        if hash_name not in expected:
            expected[hash_name] = hashlib.new(hash_name, body).digest()
        if value is None or not hmac.compare_digest(value, expected[hash_name]):
            raise _digest_mismatch()
    if not expected:
        raise SignatureError("digest_missing", f"{header} has no sha-256 or sha-512 value")


# draft-cavage ------------------------------------------------------------------------------


def _malformed(message: str) -> SignatureError:
    return SignatureError("signature_malformed", message)


def _parse_cavage_params(raw: str) -> dict[str, str]:
    params: dict[str, str] = {}
    pos, end = 0, len(raw)
    while True:
        m = _CAVAGE_PARAM.match(raw, pos)
        if m is None:
            raise _malformed("Signature header does not parse")
        name = m.group(1).lower()
        quoted, number = m.group(2), m.group(3)
        if name in params:
            raise _malformed(f"duplicate {name} parameter")
        if quoted is not None and "\\" in quoted:
            quoted = _BACKSLASH_ESCAPE.sub(r"\1", quoted)
        params[name] = quoted if quoted is not None else number
        pos = m.end()
        if pos == end:
            return params
        if raw[pos] != ",":
            raise _malformed("Signature header does not parse")
        pos += 1


def _check_cavage(req: _Request, raw: str) -> PendingSignature:
    params = _parse_cavage_params(raw.strip())
    key_id = params.get("keyid")
    if not key_id:
        raise _malformed("keyId is missing")
    sig_b64 = params.get("signature")
    if not sig_b64:
        raise _malformed("signature is missing")
    try:
        signature = base64.b64decode(sig_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _malformed("signature is not base64") from exc

    # No algorithm means hs2019 per draft-cavage-12: derive it from the key.
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in _CAVAGE_ALGORITHMS:
        raise SignatureError("algorithm_unsupported", f"algorithm {algorithm!r} is not accepted")

    covered = tuple(params.get("headers", "date").lower().split())
    if not covered:
        raise _malformed("headers parameter is empty")
    if len(set(covered)) != len(covered):
        raise _malformed("headers parameter repeats a header")
    pseudo = {name: params.get(name[1:-1]) for name in ("(created)", "(expires)")}
    for name, value in pseudo.items():
        if name in covered:
            # draft-cavage-12 §2.3: these pseudo-headers are only defined for hs2019.
            if algorithm != "hs2019":
                raise _malformed(f"{name} is only allowed with hs2019")
            if value is None:
                raise _malformed(f"{name} is signed but its parameter is missing")
    created, expires = pseudo["(created)"], pseudo["(expires)"]
    if created is not None and not _INTEGER.fullmatch(created):
        raise _malformed("created must be an integer")
    if expires is not None and not _DECIMAL.fullmatch(expires):
        raise _malformed("expires must be a number")

    if "(request-target)" not in covered:
        raise SignatureError("header_not_signed", "(request-target) must be signed")
    if "host" not in covered:
        raise SignatureError("header_not_signed", "host must be signed")
    if "date" not in covered and "(created)" not in covered:
        raise SignatureError("header_not_signed", "date or (created) must be signed")
    if req.has_body and "digest" not in covered:
        raise SignatureError("header_not_signed", "digest must be signed for a request body")

    _check_host(req)
    if "date" in covered:
        _check_date_header(req)
    if "(created)" in covered:
        _check_time(req, _timestamp(int(created or 0)), "(created)")
    if "(expires)" in covered and req.now > _timestamp(float(expires or 0)):
        raise SignatureError("date_out_of_window", "signature has expired")

    digest = req.headers.get("digest")
    if req.has_body or digest is not None:
        if digest is None:
            raise SignatureError("digest_missing", "Digest header is required with a body")
        _check_digest(req.body, _parse_digest_header(digest), "Digest")

    lines: list[str] = []
    for name in covered:
        if name == "(request-target)":
            value = f"{req.method.lower()} {req.path_qs}"
        elif name in pseudo:
            value = params[name[1:-1]]
        else:
            header = req.headers.get(name)
            if header is None:
                raise _malformed(f"signed header {name!r} is absent")
            value = header.strip()
        lines.append(f"{name}: {value}")
    return PendingSignature(
        key_id=key_id,
        scheme="cavage",
        algorithm=algorithm,
        covered=covered,
        signing_string=_encode("\n".join(lines)),
        signature=signature,
    )


def _parse_digest_header(raw: str) -> list[tuple[str, bytes | None]]:
    pairs: list[tuple[str, bytes | None]] = []
    for part in raw.split(","):
        alg, sep, value = part.strip().partition("=")
        if not sep:
            continue
        try:
            decoded: bytes | None = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            decoded = None
        pairs.append((alg.strip().lower(), decoded))
    return pairs


def _encode(text: str) -> bytes:
    # aiohttp hands header bytes over as str; surrogateescape restores non-UTF-8 bytes.
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise _malformed("header value cannot be encoded") from exc


# RFC 9421 ----------------------------------------------------------------------------------


def _check_rfc9421(req: _Request) -> PendingSignature:
    try:
        inputs = _sf_dictionary(req.headers["signature-input"])
        signatures = _sf_dictionary(req.headers.get("signature", ""))
    except ValueError as exc:
        raise _malformed("Signature-Input or Signature does not parse") from exc
    if not inputs:
        raise _malformed("Signature-Input is empty")
    # Several signatures may be present (e.g. one added by a proxy); the first is the
    # originator's by convention.
    label = next(iter(inputs))
    spec = inputs[label]
    sig_item = signatures.get(label)
    if not isinstance(spec, _InnerList):
        raise _malformed("Signature-Input member is not an inner list")
    if sig_item is None:
        raise _malformed(f"no Signature for label {label!r}")
    if not isinstance(sig_item, _Item) or not isinstance(sig_item.value, bytes):
        raise _malformed("Signature member is not a byte sequence")

    names: list[str] = []
    for item in spec.items:
        if type(item.value) is not str:
            raise _malformed("component identifiers must be strings")
        if item.params:
            raise _malformed("component parameters are not supported")
        name = item.value
        if name != name.lower() or name in names or name == "@signature-params":
            raise _malformed(f"bad component identifier {name!r}")
        if name.startswith("@") and name not in _DERIVED_COMPONENTS:
            raise _malformed(f"unsupported derived component {name!r}")
        names.append(name)
    covered = tuple(names)

    params = spec.params
    key_id = params.get("keyid")
    if type(key_id) is not str or not key_id:
        raise _malformed("keyid parameter is missing")
    alg = params.get("alg", "")
    if type(alg) is not str:
        raise _malformed("alg parameter must be a string")
    if alg and alg not in _RFC9421_ALGORITHMS:
        raise SignatureError("algorithm_unsupported", f"algorithm {alg!r} is not accepted")
    created = params.get("created")
    expires = params.get("expires")
    for pname, pvalue in (("created", created), ("expires", expires)):
        if pvalue is not None and type(pvalue) is not int:
            raise _malformed(f"{pname} parameter must be an integer")

    cov = set(covered)
    if not cov & {"host", "@authority", "@target-uri"}:
        raise SignatureError("header_not_signed", "host or @authority must be signed")
    if "@method" not in cov:
        raise SignatureError("header_not_signed", "@method must be signed")
    path, _, query = req.path_qs.partition("?")
    if not cov & {"@target-uri", "@request-target"} and (
        "@path" not in cov or ("?" in req.path_qs and "@query" not in cov)
    ):
        raise SignatureError("header_not_signed", "the request target must be signed")
    if "date" not in cov and created is None:
        raise SignatureError("header_not_signed", "date or created must be signed")
    if req.has_body and "content-digest" not in cov:
        raise SignatureError("header_not_signed", "content-digest must be signed for a body")

    _check_host(req)
    if "date" in cov:
        _check_date_header(req)
    if isinstance(created, int):
        _check_time(req, _timestamp(created), "created")
    if isinstance(expires, int) and req.now > _timestamp(expires):
        raise SignatureError("date_out_of_window", "signature has expired")

    digest = req.headers.get("content-digest")
    if req.has_body or digest is not None:
        if digest is None:
            raise SignatureError("digest_missing", "Content-Digest is required with a body")
        _check_digest(req.body, _parse_content_digest(digest), "Content-Digest")

    authority = req.headers["host"].strip().lower()
    derived = {
        "@method": req.method,
        "@target-uri": f"{req.scheme.lower()}://{authority}{req.path_qs}",
        "@authority": authority,
        "@scheme": req.scheme.lower(),
        "@path": path or "/",
        "@query": "?" + query,
        "@request-target": req.path_qs,
    }
    lines: list[str] = []
    for name in covered:
        value = derived.get(name) if name.startswith("@") else req.headers.get(name)
        if value is None:
            raise _malformed(f"signed header {name!r} is absent")
        lines.append(f'"{name}": {value.strip()}')
    lines.append(f'"@signature-params": {_sf_serialize_inner_list(spec)}')
    return PendingSignature(
        key_id=key_id,
        scheme="rfc9421",
        algorithm=alg,
        covered=covered,
        signing_string=_encode("\n".join(lines)),
        signature=sig_item.value,
    )


def _parse_content_digest(raw: str) -> list[tuple[str, bytes | None]]:
    try:
        members = _sf_dictionary(raw)
    except ValueError as exc:
        raise _digest_mismatch() from exc
    return [
        (alg, m.value if isinstance(m, _Item) and isinstance(m.value, bytes) else None)
        for alg, m in members.items()
    ]


# --- RFC 8941 structured fields (just what signatures need) --------------------------------


class _Token(str):
    """An sf-token, kept apart from sf-string so that it re-serialises unquoted."""

    __slots__ = ()


_Bare = int | float | str | bytes | bool


@dataclass(frozen=True, slots=True)
class _Item:
    value: _Bare
    params: dict[str, _Bare]


@dataclass(frozen=True, slots=True)
class _InnerList:
    items: tuple[_Item, ...]
    params: dict[str, _Bare]


def _sf_dictionary(text: str) -> dict[str, _Item | _InnerList]:
    """Parse an RFC 8941 dictionary. Raises ValueError."""
    s = text.strip(" \t")
    out: dict[str, _Item | _InnerList] = {}
    pos, end = 0, len(s)
    if end == 0:
        return out
    while True:
        m = _SF_KEY.match(s, pos)
        if m is None:
            raise ValueError("bad dictionary key")
        key, pos = m.group(), m.end()
        member: _Item | _InnerList
        if pos < end and s[pos] == "=":
            if s.startswith("(", pos + 1):
                member, pos = _sf_inner_list(s, pos + 1)
            else:
                member, pos = _sf_item(s, pos + 1)
        else:
            params, pos = _sf_params(s, pos)
            member = _Item(True, params)
        out[key] = member
        pos = _skip(s, pos, " \t")
        if pos == end:
            return out
        if s[pos] != ",":
            raise ValueError("expected ','")
        pos = _skip(s, pos + 1, " \t")
        if pos == end:
            raise ValueError("trailing ','")


def _skip(s: str, pos: int, chars: str) -> int:
    while pos < len(s) and s[pos] in chars:
        pos += 1
    return pos


def _sf_inner_list(s: str, pos: int) -> tuple[_InnerList, int]:
    pos += 1  # "("
    items: list[_Item] = []
    while pos < len(s):
        pos = _skip(s, pos, " ")
        if s.startswith(")", pos):
            params, pos = _sf_params(s, pos + 1)
            return _InnerList(tuple(items), params), pos
        item, pos = _sf_item(s, pos)
        items.append(item)
        if pos >= len(s) or s[pos] not in " )":
            raise ValueError("bad inner list")
    raise ValueError("unterminated inner list")


def _sf_item(s: str, pos: int) -> tuple[_Item, int]:
    value, pos = _sf_bare(s, pos)
    params, pos = _sf_params(s, pos)
    return _Item(value, params), pos


def _sf_params(s: str, pos: int) -> tuple[dict[str, _Bare], int]:
    params: dict[str, _Bare] = {}
    while s.startswith(";", pos):
        pos = _skip(s, pos + 1, " ")
        m = _SF_KEY.match(s, pos)
        if m is None:
            raise ValueError("bad parameter key")
        key, pos = m.group(), m.end()
        value: _Bare = True
        if s.startswith("=", pos):
            value, pos = _sf_bare(s, pos + 1)
        params[key] = value
    return params, pos


def _sf_bare(s: str, pos: int) -> tuple[_Bare, int]:
    c = s[pos : pos + 1]
    if c == '"':
        m = _SF_STRING.match(s, pos)
        if m is None:
            raise ValueError("bad string")
        text = m.group(1)
        if "\\" in text:
            text = _SF_STRING_ESCAPE.sub(r"\1", text)
        return text, m.end()
    if c == ":":
        m = _SF_BYTES.match(s, pos)
        if m is None:
            raise ValueError("bad byte sequence")
        return base64.b64decode(m.group(1), validate=True), m.end()
    if c == "?":
        flag = s[pos + 1 : pos + 2]
        if flag not in ("0", "1"):
            raise ValueError("bad boolean")
        return flag == "1", pos + 2
    if c == "-" or "0" <= c <= "9":
        m = _SF_NUMBER.match(s, pos)
        if m is None:
            raise ValueError("bad number")
        whole, frac = m.groups()
        if frac is None:
            if len(whole) > 15:
                raise ValueError("integer too long")
            return int(m.group()), m.end()
        if len(whole) > 12 or len(frac) > 3:
            raise ValueError("decimal too long")
        return float(m.group()), m.end()
    m = _SF_TOKEN.match(s, pos)
    if m is None:
        raise ValueError("unexpected character")
    return _Token(m.group()), m.end()


def _sf_serialize_bare(value: _Bare) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, _Token):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return ":" + base64.b64encode(value).decode("ascii") + ":"


def _sf_serialize_params(params: dict[str, _Bare]) -> str:
    return "".join(
        f";{key}" if value is True else f";{key}={_sf_serialize_bare(value)}"
        for key, value in params.items()
    )


def _sf_serialize_inner_list(inner: _InnerList) -> str:
    body = " ".join(
        _sf_serialize_bare(item.value) + _sf_serialize_params(item.params) for item in inner.items
    )
    return f"({body}){_sf_serialize_params(inner.params)}"
