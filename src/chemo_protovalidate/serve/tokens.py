"""JWT verification of the CDS Hooks service (docs/cds-hooks.md 8.3), offline, against the JWK Sets given at start.

A refusal is a short fixed phrase naming the check that failed. It goes to the log (8.4), so it never carries a
value taken from the token: an attacker writes the token, and the kid and iss would identify the client.
"""

from __future__ import annotations

import heapq
import json
import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
# The registered JWS names (RFC 7518, 8037, 8812): a refused one may be named in the log, being no client's text.
_NAMED = {"none", "HS256", "HS384", "HS512", "EdDSA", "ES256K", *ALGORITHMS}
LEEWAY = 60
MAX_LIFETIME = 300
NOT_ITS_TYPE = "key type or curve does not fit alg"
NOT_ITS_ALG = "key alg is not the header alg"
# Signature only: PyJWT's own claim checks are not 8.3's (they take "1900000000" or true for exp, know no lifetime
# limit, check nbf, and fail in their own order), so the claims are checked below, as 8.3 words them.
_SIGNATURE_ONLY = {"verify_signature": True, "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                   "verify_aud": False, "verify_iss": False, "verify_sub": False, "verify_jti": False, "require": []}


class TrustError(Exception):
    """A trust file that cannot be used; the message names the file and why."""


def _fits(key, jwk: dict, alg: str) -> str | None:
    if alg.startswith(("RS", "PS")):
        fits = isinstance(key, rsa.RSAPublicKey)
    else:
        fits = isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == _CURVES[alg]
    if not fits:
        return NOT_ITS_TYPE
    if "alg" in jwk and jwk["alg"] != alg:
        return NOT_ITS_ALG
    return None


def _is_number(value) -> bool:
    # bool is an int to Python, not a number to JSON; NaN and infinities compare as no time does.
    return not isinstance(value, bool) and (isinstance(value, int) or isinstance(value, float) and math.isfinite(value))


class Trust:
    """The trusted issuers' keys, and the jti each issuer has used lately."""

    def __init__(self, keys: Mapping[str, Mapping[str, Sequence[tuple[object, dict]]]]):
        self._keys = keys
        self._seen: dict[tuple[str, str], float] = {}
        self._expiries: list[tuple[float, str, str]] = []
        self._lock = threading.Lock()

    def verify(self, authorization: str | None, audiences: Sequence[str], now: float | None = None) -> str | None:
        """None when the token is accepted, else which check of 8.3 failed (the first, in 8.3's order)."""
        now = time.time() if now is None else now
        parts = (authorization or "").split()
        if len(parts) != 2 or parts[0].lower() != "bearer":
            return "no bearer token"
        token = parts[1]
        try:
            header = jwt.get_unverified_header(token)
            claimed = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return "token malformed"
        if header.get("typ") != "JWT":
            return "header typ is not JWT"
        if not header.get("kid"):
            return "header kid missing"
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            return f"alg {alg} not allowed" if isinstance(alg, str) and alg in _NAMED else "alg not allowed"
        iss = claimed.get("iss")
        if not isinstance(iss, str) or iss not in self._keys:
            return "issuer not trusted"
        candidates = self._keys[iss].get(header["kid"])
        if not candidates:
            return "no key with that kid"
        misfits = [_fits(key, jwk, alg) for key, jwk in candidates]
        if None not in misfits:
            return NOT_ITS_ALG if NOT_ITS_ALG in misfits else NOT_ITS_TYPE  # of keys sharing the kid, the nearer miss
        key = candidates[misfits.index(None)][0]
        try:
            payload = jwt.decode(token, key, algorithms=list(ALGORITHMS), options=_SIGNATURE_ONLY)
        except jwt.InvalidSignatureError:
            return "signature does not verify"
        except jwt.PyJWTError:
            return "token malformed"
        reason = self._claims(payload, audiences, now)
        if reason:
            return reason
        return self._first_use(iss, payload["jti"], payload["exp"] + LEEWAY, now)

    @staticmethod
    def _claims(payload: dict, audiences: Sequence[str], now: float) -> str | None:
        aud = payload.get("aud")
        named = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not any(isinstance(a, str) and a in audiences for a in named):
            return "aud does not name the URL called"
        exp, iat = payload.get("exp"), payload.get("iat")
        if not _is_number(exp):
            return "exp missing or not a number"
        if not _is_number(iat):
            return "iat missing or not a number"
        if iat > now + LEEWAY:
            return "iat in the future"
        if not now < exp + LEEWAY:
            return "expired"
        if exp - iat > MAX_LIFETIME:
            return f"exp - iat above {MAX_LIFETIME} s"
        jti = payload.get("jti")
        if not isinstance(jti, str) or not jti:
            return "jti missing"
        return None

    def _first_use(self, iss: str, jti: str, forget_at: float, now: float) -> str | None:
        # A jti is needed only while its token could still pass the exp check; after that the entry goes, so the
        # cache holds at most (iat leeway + lifetime + exp leeway) seconds of tokens.
        with self._lock:
            while self._expiries and self._expiries[0][0] <= now:
                at, old_iss, old_jti = heapq.heappop(self._expiries)
                if self._seen.get((old_iss, old_jti)) == at:
                    del self._seen[(old_iss, old_jti)]
            if (iss, jti) in self._seen:
                return "jti replayed"
            self._seen[(iss, jti)] = forget_at
            heapq.heappush(self._expiries, (forget_at, iss, jti))
        return None


def load_trust(files: Mapping[str, str | os.PathLike]) -> Trust:
    """Reads and checks each issuer's JWK Set file now, so that a bad one stops the start (exit 2), not a call."""
    keys: dict[str, dict[str, list[tuple[object, dict]]]] = {}
    for iss, path in files.items():
        name = f"trust file {os.fspath(path)}"
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise TrustError(f"{name}: unreadable ({error.__class__.__name__})") from None
        try:
            document = json.loads(text)
        except ValueError:
            raise TrustError(f"{name}: not JSON") from None
        listed = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(listed, list) or not listed or not all(isinstance(k, dict) for k in listed):
            raise TrustError(f'{name}: not a JWK Set (an object whose "keys" is a non-empty list of keys)')
        by_kid = keys.setdefault(iss, {})
        for number, jwk in enumerate(listed, 1):
            where = f"{name}, key {number}"
            if jwk.get("kty") == "oct":
                raise TrustError(f"{where}: a symmetric (oct) key; the service takes public keys only")
            if not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
                raise TrustError(f"{where}: no kid")
            try:
                key = jwt.PyJWK(jwk).key
            except Exception as error:  # whatever PyJWT raises on a bad key, the file cannot be used
                # Only the class: PyJWT's messages may quote the whole JWK, private parts included.
                raise TrustError(f"{where}: PyJWT cannot load it ({error.__class__.__name__})") from None
            # A private JWK verifies as its public half; holding it here is the issuer's risk, not a wrong answer.
            key = key.public_key() if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)) else key
            # RFC 7517 4.5 lets two keys share a kid (e.g. of different types): each is a candidate for it.
            by_kid.setdefault(jwk["kid"], []).append((key, jwk))
    return Trust(keys)
