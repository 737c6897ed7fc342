"""A hostile remote pod for tests: an aiohttp app that serves its own actors and WebFinger, and
POSTs hand-crafted, (mis)signed requests to a real pod's inbox.

The signers here are written from the specifications (draft-cavage-12, RFC 9421, RFC 9530),
independently of `federation.httpsig`, so a shared misreading cannot hide a bug. Every part of a
request can be bent: which components are covered, the values of Host, Date and the digests,
headers left out after signing, the key used, the algorithm named.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from multidict import CIMultiDict

from federation.convert import SHARE_CONTEXT

AS_TYPE = "application/activity+json"
AS_CONTEXT = ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]
AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

CAVAGE_COVERED = ("(request-target)", "host", "date", "digest", "content-type")
RFC9421_COVERED = ("@method", "@target-uri", "host", "date", "content-digest", "content-type")

_ids = itertools.count(1)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def http_date(when: datetime) -> str:
    return email.utils.format_datetime(when.astimezone(UTC), usegmt=True)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _sign(key: rsa.RSAPrivateKey, data: str, alg: str = "rsa-v1_5-sha256") -> str:
    if alg == "rsa-pss-sha512":  # RFC 9421 §3.3.1: MGF1 with SHA-512, 64-byte salt
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
        return _b64(key.sign(data.encode("utf-8"), pss, hashes.SHA512()))
    return _b64(key.sign(data.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()))


def _target(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.netloc, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def sign_cavage(
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    key: rsa.RSAPrivateKey,
    now: datetime,
    *,
    covered: Iterable[str] = CAVAGE_COVERED,
    algorithm: str | None = "rsa-sha256",
    values: Mapping[str, str] | None = None,
    omit: Iterable[str] = (),
    content_type: str = AS_TYPE,
) -> dict[str, str]:
    """Headers of a draft-cavage signed request.

    `values` replaces header values before signing (they are signed and sent as given);
    `omit` drops headers from what is sent after signing.
    """
    host, target = _target(url)
    headers = {"host": host, "date": http_date(now)}
    if body is not None:
        headers["digest"] = "SHA-256=" + _b64(hashlib.sha256(body).digest())
        headers["content-type"] = content_type
    headers.update(values or {})
    covered = tuple(covered)
    lines = []
    for name in covered:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        else:
            lines.append(f"{name}: {headers.get(name, '')}")
    params = [f'keyId="{key_id}"']
    if algorithm is not None:
        params.append(f'algorithm="{algorithm}"')
    params.append(f'headers="{" ".join(covered)}"')
    params.append(f'signature="{_sign(key, chr(10).join(lines))}"')
    sent = {name: value for name, value in headers.items() if name not in set(omit)}
    sent["signature"] = ",".join(params)
    return sent


def sign_rfc9421(
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    key: rsa.RSAPrivateKey,
    now: datetime,
    *,
    covered: Iterable[str] = RFC9421_COVERED,
    created: datetime | None = None,
    values: Mapping[str, str] | None = None,
    omit: Iterable[str] = (),
    alg: str = "rsa-v1_5-sha256",
) -> dict[str, str]:
    """Headers of an RFC 9421 signed request (label `sig1`), with Content-Digest (RFC 9530)."""
    host, target = _target(url)
    headers = {"host": host, "date": http_date(now)}
    if body is not None:
        headers["content-digest"] = f"sha-256=:{_b64(hashlib.sha256(body).digest())}:"
        headers["content-type"] = AS_TYPE
    headers.update(values or {})
    parts = urlsplit(url)
    derived = {
        "@method": method.upper(),
        "@target-uri": f"{parts.scheme}://{host}{target}",
        "@authority": host,
        "@path": parts.path or "/",
        "@scheme": parts.scheme,
    }
    covered = tuple(covered)
    stamp = int((created or now).timestamp())
    params = (
        "(" + " ".join(f'"{c}"' for c in covered) + ")"
        f';created={stamp};keyid="{key_id}";alg="{alg}"'
    )
    lines = [f'"{c}": {derived[c] if c.startswith("@") else headers.get(c, "")}' for c in covered]
    lines.append(f'"@signature-params": {params}')
    sent = {name: value for name, value in headers.items() if name not in set(omit)}
    sent["signature-input"] = f"sig1={params}"
    sent["signature"] = f"sig1=:{_sign(key, chr(10).join(lines), alg)}:"
    return sent


class HostilePod:
    """Actors with RSA keys, WebFinger, inboxes that record what arrives, and a request log.

    `overrides[name]` is merged into that actor's document (e.g. an `id` on another origin);
    `redirects[path]` answers GET `path` with a 302 to the given URL; `statuses[path]`, with
    that status and no document; `documents[path]` is
    served at `path` (bytes as they are); `media_types[name]` replaces the media type of
    the actor document; a GET of an actor in `stalled` gets no answer until `close()`;
    `links[name]` replaces the WebFinger self link; `subjects[name]`, its subject (a handle on
    another domain: Mastodon's LOCAL_DOMAIN), and WebFinger answers for the handles of the
    `domains` it is given too; `jrd_links[name]`, all WebFinger links
    (Lemmy's names a person and a community of one name both); WebFinger answers after
    `webfinger_delay` seconds; inbox POSTs are answered with the
    statuses in `answers`, in order, then 202.
    """

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.overrides: dict[str, dict[str, Any]] = {}
        self.redirects: dict[str, str] = {}
        self.statuses: dict[str, int] = {}
        self.documents: dict[str, dict[str, Any] | bytes] = {}
        self.media_types: dict[str, str] = {}
        self.stalled: set[str] = set()
        self.links: dict[str, str] = {}
        self.subjects: dict[str, str] = {}
        self.domains: set[str] = set()
        self.jrd_links: dict[str, list[dict[str, Any]]] = {}
        self.webfinger_delay = 0.0
        self.answers: list[int] = []
        self._release = asyncio.Event()
        self.requests: list[str] = []  # "METHOD /path?query", every request that arrived
        # (method, path and query exactly as sent, headers) of every request that arrived
        self.raw: list[tuple[str, str, dict[str, str]]] = []
        self.received: list[tuple[dict[str, str], bytes]] = []  # inbox POSTs: headers, body
        app = web.Application(middlewares=[self._log])
        app.router.add_get("/users/{name}", self._actor)
        app.router.add_post("/users/{name}/inbox", self._inbox)
        app.router.add_post("/inbox", self._inbox)
        app.router.add_get("/.well-known/webfinger", self._webfinger)
        self.server = TestServer(app, host="127.0.0.1")
        self._http: ClientSession | None = None

    async def start(self) -> HostilePod:
        await self.server.start_server()
        self._http = ClientSession()
        return self

    async def close(self) -> None:
        self._release.set()
        if self._http is not None:
            await self._http.close()
        await self.server.close()

    # --- identity ---------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    @property
    def base(self) -> str:
        return f"http://{self.host}"

    def actor(self, name: str) -> str:
        return f"{self.base}/users/{name}"

    def key_id(self, name: str) -> str:
        return f"{self.actor(name)}#main-key"

    def handle(self, name: str) -> str:
        return f"{name}@{self.host}"

    def add_actor(self, name: str, key: rsa.RSAPrivateKey, **overrides: Any) -> str:
        self.keys[name] = key
        self.overrides[name] = overrides
        return self.actor(name)

    def actor_doc(self, name: str) -> dict[str, Any]:
        uri = self.actor(name)
        doc = {
            "@context": AS_CONTEXT,
            "id": uri,
            "type": "Person",
            "preferredUsername": name,
            "name": name.title(),
            "inbox": f"{uri}/inbox",
            "outbox": f"{uri}/outbox",
            "followers": f"{uri}/followers",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {
                "id": self.key_id(name),
                "owner": uri,
                "publicKeyPem": public_pem(self.keys[name]),
            },
        }
        doc.update(self.overrides.get(name, {}))
        return doc

    def fetches(self, path: str) -> int:
        """How many GETs of `path` arrived."""
        return self.requests.count(f"GET {path}")

    # --- routes -----------------------------------------------------------------------------

    @web.middleware
    async def _log(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path_qs}")
        self.raw.append((request.method, request.raw_path, dict(request.headers)))
        if request.method == "GET" and request.path in self.redirects:
            # Sent as given (HTTPFound would refuse a Location that is no valid URL).
            return web.Response(status=302, headers={"Location": self.redirects[request.path]})
        if request.method == "GET" and request.path in self.statuses:
            return web.Response(status=self.statuses[request.path])
        if request.method == "GET" and request.path in self.documents:
            doc = self.documents[request.path]
            raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
            return web.Response(body=raw, content_type=AS_TYPE)
        return await handler(request)

    async def _actor(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.keys:
            raise web.HTTPNotFound()
        if name in self.stalled:
            await self._release.wait()
        media_type = self.media_types.get(name, AS_TYPE)
        return web.json_response(self.actor_doc(name), content_type=media_type)

    async def _inbox(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=self.answers.pop(0) if self.answers else 202)

    async def _webfinger(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.webfinger_delay)
        resource = request.query.get("resource", "")
        name, _, host = resource.removeprefix("acct:").partition("@")
        if (host != self.host and host not in self.domains) or name not in self.keys:
            raise web.HTTPNotFound()
        jrd = {
            "subject": f"acct:{self.subjects.get(name, f'{name}@{host}')}",
            "links": self.jrd_links.get(name)
            or [{"rel": "self", "type": AS_TYPE, "href": self.links.get(name, self.actor(name))}],
        }
        return web.json_response(jrd, content_type="application/jrd+json")

    # --- activities and sending ---------------------------------------------------------------

    def new_id(self, name: str, kind: str = "activity") -> str:
        return f"{self.actor(name)}/{kind}/{next(_ids)}"

    def activity(self, name: str, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
        return {
            "@context": AS_CONTEXT,
            "id": self.new_id(name),
            "type": kind,
            "actor": self.actor(name),
            "object": obj,
            **extra,
        }

    def note(self, name: str, content: str, to: list[str], **extra: Any) -> dict[str, Any]:
        return {
            "id": self.new_id(name, "notes"),
            "type": "Note",
            "attributedTo": self.actor(name),
            "content": f"<p>{content}</p>",
            "to": to,
            "cc": [],
            **extra,
        }

    def share(self, owner: str, to: str, **extra: Any) -> dict[str, Any]:
        """A read-only Share of everything `owner` has, to the actor `to`."""
        ap_id = self.new_id(owner, "shares")
        return {
            "id": ap_id,
            "type": "Share",
            "attributedTo": self.actor(owner),
            "to": [to],
            "scope": "all",
            "canRead": True,
            "canWrite": False,
            "canDelete": False,
            "canShare": False,
            "expiresAt": None,
            "sharedItems": f"{ap_id}/items",
            **extra,
        }

    def share_activity(self, name: str, kind: str, obj: Any) -> dict[str, Any]:
        """An activity by `name` about a share, with the sharing terms in its context."""
        return {**self.activity(name, kind, obj), "@context": [*AS_CONTEXT, SHARE_CONTEXT]}

    def signed(
        self,
        url: str,
        body: bytes,
        now: datetime,
        *,
        signer: str,
        scheme: str = "cavage",
        key: rsa.RSAPrivateKey | None = None,
        key_id: str | None = None,
        **options: Any,
    ) -> dict[str, str]:
        """Headers signing a POST of `body` to `url` as `signer` (by default with its key)."""
        sign = sign_cavage if scheme == "cavage" else sign_rfc9421
        return sign(
            "POST",
            url,
            body,
            key_id or self.key_id(signer),
            key or self.keys[signer],
            now,
            **options,
        )

    async def send(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, Any] | None]:
        """POST exactly these headers and bytes (a CIMultiDict may repeat a header);
        (status, JSON answer or None)."""
        assert self._http is not None, "start() the hostile pod first"
        sent = headers if isinstance(headers, CIMultiDict) else dict(headers)
        async with self._http.post(
            url, data=body, headers=sent, skip_auto_headers=("Content-Type",)
        ) as resp:
            raw = await resp.read()
            try:
                data = json.loads(raw) if raw else None
            except ValueError:
                data = None
            return resp.status, data

    async def follow_as_file(
        self, name: str, pod_url: str, username: str, now: datetime, **overrides: Any
    ) -> tuple[str, int]:
        """A file on this origin (one a user put there) that names itself as `name`'s actor
        does, with its own key and `overrides`, signs a Follow of `username` on the pod at
        `pod_url`: (the file's id, the status answered)."""
        upload = f"{self.base}/files/upload.json"
        key, key_id = new_key(), f"{upload}#main-key"
        self.documents["/files/upload.json"] = {
            **self.actor_doc(name), "id": upload, "inbox": f"{upload}/inbox", **overrides,
            "publicKey": {"id": key_id, "owner": upload, "publicKeyPem": public_pem(key)},
        }  # fmt: skip
        follow = dict(self.activity(name, "Follow", f"{pod_url}/users/{username}"), actor=upload)
        follow["id"] = f"{upload}/follow/1"
        status, _ = await self.post(
            f"{pod_url}/inbox", follow, now, signer=name, key=key, key_id=key_id
        )
        return upload, status

    async def post(
        self, url: str, activity: dict[str, Any], now: datetime, *, signer: str, **options: Any
    ) -> tuple[int, dict[str, Any] | None]:
        """Sign and POST an activity; `options` go to `signed`."""
        body = json.dumps(activity).encode()
        return await self.send(url, body, self.signed(url, body, now, signer=signer, **options))
