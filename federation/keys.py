"""RSA keys of local actors (made on first use, kept in the database) and a cache of parsed keys."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from node.clock import Clock, iso
from node.store.db import Database, Queryable

KEY_BITS = 2048


def generate_pem() -> tuple[str, str]:
    """(private PEM, public PEM) of a new RSA-2048 key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def load_private(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


# Limits on a peer's RSA key, so that checking a signature with it stays cheap: every
# signature naming a key is checked, junk ones too. Servers make 2048- to 4096-bit keys with
# the exponent 65537; a modulus of 16384 bits, or an exponent as long as the modulus, makes
# each check cost milliseconds.
MAX_PEER_RSA_BITS = 8192
MAX_PEER_RSA_EXPONENT_BITS = 32


def load_public(pem: str) -> PublicKeyTypes:
    """A peer's public key. Raises ValueError for junk and for RSA keys past the limits."""
    key = serialization.load_pem_public_key(pem.encode())
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        if key.key_size > MAX_PEER_RSA_BITS or numbers.e.bit_length() > MAX_PEER_RSA_EXPONENT_BITS:
            raise ValueError("the RSA key is too costly to verify with")
    return key


class LocalKeys:
    """Private keys of this pod's actors, parsed once and kept in memory."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._cache: dict[str, tuple[rsa.RSAPrivateKey, str]] = {}
        self._lock = asyncio.Lock()

    async def get(self, actor_uri: str) -> tuple[rsa.RSAPrivateKey, str]:
        """(private key, public PEM) of a local actor, creating the pair on first use."""
        hit = self._cache.get(actor_uri)
        if hit:
            return hit
        async with self._lock:
            hit = self._cache.get(actor_uri)
            if hit:
                return hit
            row = await self._db.fetchone(
                "SELECT private_pem, public_pem FROM actor_keys WHERE actor_uri = ?", (actor_uri,)
            )
            if row is None:
                private_pem, public_pem = await asyncio.to_thread(generate_pem)
                async with self._db.transaction() as tx:
                    await tx.execute(
                        "INSERT OR IGNORE INTO actor_keys VALUES (?, ?, ?, ?)",
                        (actor_uri, private_pem, public_pem, iso(self._clock.now())),
                    )
                    row = await tx.fetchone(
                        "SELECT private_pem, public_pem FROM actor_keys WHERE actor_uri = ?",
                        (actor_uri,),
                    )
            assert row is not None
            entry = (load_private(row["private_pem"]), row["public_pem"])
            self._cache[actor_uri] = entry
            return entry

    async def public_pem(self, actor_uri: str) -> str:
        return (await self.get(actor_uri))[1]


async def stored_public_pem(q: Queryable, actor_uri: str) -> str | None:
    """A local actor's public key if it has one already (readable inside a transaction,
    where `LocalKeys.get`, which may create one in a transaction of its own, cannot run)."""
    return await q.fetchval("SELECT public_pem FROM actor_keys WHERE actor_uri = ?", (actor_uri,))


class PublicKeyCache:
    """Parsed remote public keys by PEM text; bounded, least recently used out first."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._keys: OrderedDict[str, PublicKeyTypes] = OrderedDict()

    def parse(self, pem: str) -> PublicKeyTypes:
        key = self._keys.get(pem)
        if key is not None:
            self._keys.move_to_end(pem)
            return key
        key = load_public(pem)
        self._keys[pem] = key
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return key
