"""Who may call what: bearer tokens with roles, and the TLS credentials of server and clients.

A token belongs to a client (a name) and carries one role:

    read    GetJob, WatchJob, ListJobs (the client's own jobs), keys, circuit info, accounts, root
    submit  read, plus SubmitBatch and CancelJob of the client's own jobs
    admin   everything, on every client's jobs

Tokens are configured as lines ``CLIENT ROLE TOKEN`` (``#`` starts a comment), from a file
(``--tokens-file`` / ``$ZKPROVER_TOKENS_FILE``) or inline in ``$ZKPROVER_TOKENS`` (lines or
``;``-separated entries), never on the command line, where ``ps`` would show them. A TOKEN
written ``sha256:<hex>`` is the digest of the secret, so the server's file need not hold it.
Several tokens may name one client (e.g. a read-only token for its dashboards): they share the
client's jobs. Clients send ``authorization: Bearer <token>`` metadata on every call.

With no tokens configured, authentication is off and every caller is an anonymous admin; the
server then refuses to listen beyond loopback unless told it may (``--allow-insecure``).
Health checking and reflection never need a token, so probes and tools keep working.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import grpc

ROLES = ("read", "submit", "admin")
_RANK = {role: rank for rank, role in enumerate(ROLES)}

#: the least role each ProverService method needs
METHOD_ROLES: Mapping[str, str] = {
    "SubmitBatch": "submit",
    "CancelJob": "submit",
    "GetJob": "read",
    "WatchJob": "read",
    "ListJobs": "read",
    "GetVerifyingKey": "read",
    "GetCircuitInfo": "read",
    "GetAccount": "read",
    "GetStateRoot": "read",
}

_CLIENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
MIN_TOKEN_CHARS = 16


class AuthConfigError(ValueError):
    """A tokens file or TLS option is malformed; the message names the place."""


@dataclass(frozen=True)
class Caller:
    """The client behind a call. ``client`` is "" for the anonymous caller of a server with
    authentication off."""

    client: str
    role: str

    def may(self, role: str) -> bool:
        return _RANK[self.role] >= _RANK[role]

    @property
    def owner_filter(self) -> str | None:
        """Whose jobs this caller sees: None (every client's) for an admin, else its own."""
        return None if self.role == "admin" else self.client


ANONYMOUS = Caller("", "admin")


def caller_of(context: object) -> Caller:
    """The caller the interceptor attached to a call's context (anonymous when none did, as in
    direct in-process calls)."""
    caller = getattr(context, "caller", None)
    return caller if isinstance(caller, Caller) else ANONYMOUS


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenTable:
    """Token digests -> callers. Lookups hash the presented token and compare digests in
    constant time, so neither the table nor a timing difference gives a token away."""

    def __init__(self, entries: Iterable[tuple[str, str, str]] = ()) -> None:
        self._by_digest: dict[str, Caller] = {}
        for client, role, token in entries:
            digest = token.removeprefix("sha256:") if _DIGEST.match(token) else _digest(token)
            self._by_digest[digest] = Caller(client, role)

    def __len__(self) -> int:
        return len(self._by_digest)

    @property
    def enabled(self) -> bool:
        return bool(self._by_digest)

    def lookup(self, token: str) -> Caller | None:
        presented = _digest(token)
        found = None
        for digest, caller in self._by_digest.items():
            if hmac.compare_digest(digest, presented):
                found = caller
        return found

    @classmethod
    def parse(cls, text: str, source: str) -> TokenTable:
        """Entries ``CLIENT ROLE TOKEN`` one per line (or ``;``-separated); errors name the line."""
        entries = []
        for n, raw in enumerate(re.split(r"[\n;]", text), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            where = f"{source} entry {n}"
            if len(parts) != 3:
                raise AuthConfigError(f"{where}: expected 'CLIENT ROLE TOKEN', got {len(parts)} fields")
            client, role, token = parts
            if not _CLIENT_NAME.match(client):
                raise AuthConfigError(f"{where}: client name {client[:64]!r} must be 1-64 of A-Z a-z 0-9 . _ @ -")
            if role not in _RANK:
                raise AuthConfigError(f"{where}: role {role[:32]!r} is not one of {', '.join(ROLES)}")
            if not _DIGEST.match(token) and len(token) < MIN_TOKEN_CHARS:
                raise AuthConfigError(f"{where}: a token needs at least {MIN_TOKEN_CHARS} characters")
            entries.append((client, role, token))
        return cls(entries)

    @classmethod
    def from_sources(cls, path: str | None, env: Mapping[str, str] = os.environ) -> TokenTable:
        """Tokens from ``path`` (else ``$ZKPROVER_TOKENS_FILE``) plus ``$ZKPROVER_TOKENS``."""
        path = path or env.get("ZKPROVER_TOKENS_FILE") or None
        table = cls()
        if path:
            try:
                with open(path) as f:
                    text = f.read()
            except OSError as exc:
                raise AuthConfigError(f"tokens file {path}: {exc.strerror}") from None
            table = cls.parse(text, path)
        if env.get("ZKPROVER_TOKENS"):
            extra = cls.parse(env["ZKPROVER_TOKENS"], "$ZKPROVER_TOKENS")
            table._by_digest.update(extra._by_digest)
        return table


def bearer_token(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The token of an ``authorization: Bearer <token>`` metadata entry, if any."""
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


# --- TLS ------------------------------------------------------------------------------------
def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise AuthConfigError(f"{what} {path}: {exc.strerror}") from None


def server_credentials(cert: str, key: str, client_ca: str | None = None) -> grpc.ServerCredentials:
    """TLS with the server's certificate chain and key; with ``client_ca``, mutual TLS: clients
    must present a certificate that CA signed, or the handshake fails."""
    ca = _read(client_ca, "client CA file") if client_ca else None
    return grpc.ssl_server_credentials(
        [(_read(key, "TLS key file"), _read(cert, "TLS certificate file"))],
        root_certificates=ca,
        require_client_auth=ca is not None,
    )


def channel_credentials(
    ca: str | None = None, cert: str | None = None, key: str | None = None
) -> grpc.ChannelCredentials:
    """Client TLS: trust ``ca`` (else the system roots); ``cert``/``key`` for mutual TLS."""
    if bool(cert) != bool(key):
        raise AuthConfigError("a client certificate needs its key (give both --tls-cert and --tls-key)")
    return grpc.ssl_channel_credentials(
        root_certificates=_read(ca, "CA file") if ca else None,
        private_key=_read(key, "TLS key file") if key else None,
        certificate_chain=_read(cert, "TLS certificate file") if cert else None,
    )


def client_token(path: str | None, env: Mapping[str, str] = os.environ) -> str | None:
    """A client's bearer token: from ``path`` (else ``$ZKPROVER_TOKEN_FILE``), else ``$ZKPROVER_TOKEN``."""
    path = path or env.get("ZKPROVER_TOKEN_FILE") or None
    if path:
        token = _read(path, "token file").decode().strip()
        if not token:
            raise AuthConfigError(f"token file {path} is empty")
        return token
    return env.get("ZKPROVER_TOKEN") or None
