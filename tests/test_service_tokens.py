"""JWT verification of the CDS Hooks service (docs/cds-hooks.md 8.3): each check, in order, offline, and the reasons
it logs (8.4), which never quote the token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import socket
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, RSAAlgorithm, get_default_algorithms

from chemo_protovalidate.serve.tokens import Trust, TrustError, load_trust

# Distinctive, so that a reason quoting any of them is caught.
ISS = "https://ehr.example/issuer-Vq3Zr"
ISS2 = "https://other-ehr.example/issuer-Wm8Kp"
K384, K256, KRSA, K2 = "kid-p384-Qx7Lt", "kid-p256-Hn2Ds", "kid-rsa-Bf5Uw", "kid-2-Tg6Ma"
KRSA_RS = "kid-rsa-rs256-Jc4Ye"  # the same RSA key, its JWK saying alg RS256
URL = "https://cds.example/cds-services/protovalidate-order-sign"
FEEDBACK = URL + "/feedback"
NOW = 1_900_000_000.0

# Generated once: RSA is slow.
P384 = ec.generate_private_key(ec.SECP384R1())
P256 = ec.generate_private_key(ec.SECP256R1())
RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
IMPOSTER = ec.generate_private_key(ec.SECP384R1())  # not in any trust file
RSA_PEM = RSA.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

REASONS = {"no bearer token", "token malformed", "header typ is not JWT", "header kid missing", "alg none not allowed",
           "alg HS256 not allowed", "alg EdDSA not allowed", "alg not allowed", "issuer not trusted",
           "no key with that kid", "key type or curve does not fit alg", "key alg is not the header alg",
           "signature does not verify", "aud does not name the URL called", "exp missing or not a number",
           "iat missing or not a number", "iat in the future", "expired", "exp - iat above 300 s", "jti missing",
           "jti replayed"}


def _jwk(key, kid: str, **extra) -> dict:
    algorithm = RSAAlgorithm if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)) else ECAlgorithm
    return {**algorithm.to_jwk(key, as_dict=True), "kid": kid, **extra}


JWKS = {ISS: {"keys": [_jwk(P384.public_key(), K384, alg="ES384", use="sig"), _jwk(P256.public_key(), K256),
                       _jwk(RSA.public_key(), KRSA), _jwk(RSA.public_key(), KRSA_RS, alg="RS256")]},
        ISS2: {"keys": [_jwk(P256.public_key(), K2)]}}


def _write(tmp_path, name: str, document) -> str:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document), "utf-8")
    return str(path)


@pytest.fixture
def trust(tmp_path) -> Trust:
    return load_trust({iss: _write(tmp_path, f"jwks{n}.json", JWKS[iss]) for n, iss in enumerate(JWKS)})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_JTI = itertools.count()
DROP = object()


def token(claims=None, header=None, alg="ES384", signer=("ES384", P384), tamper=False) -> str:
    """A JWS made by hand, so that any header, alg and signing key can be put together (as an attacker would)."""
    h = {"typ": "JWT", "alg": alg, "kid": K384, **(header or {})}
    c = {"iss": ISS, "aud": URL, "iat": NOW - 10, "exp": NOW + 200, "jti": f"jti-{next(_JTI)}-Rk9Pw", **(claims or {})}
    h, c = ({k: v for k, v in d.items() if v is not DROP} for d in (h, c))
    signing_input = f"{_b64(json.dumps(h).encode())}.{_b64(json.dumps(c).encode())}"
    if callable(signer):
        signature = signer(signing_input.encode())
    elif signer[0] == "none":
        signature = b""
    else:
        sign_alg, key = signer
        algorithm = get_default_algorithms()[sign_alg]
        signature = algorithm.sign(signing_input.encode(), algorithm.prepare_key(key))
    if tamper:  # the same signature over another payload
        c["aud"] = [URL, "https://elsewhere.example/"]
        signing_input = f"{signing_input.split('.')[0]}.{_b64(json.dumps(c).encode())}"
    return f"{signing_input}.{_b64(signature)}"


ES256 = dict(alg="ES256", header={"kid": K256}, signer=("ES256", P256))
RS256 = dict(alg="RS256", header={"kid": KRSA}, signer=("RS256", RSA))
PS256 = dict(alg="PS256", header={"kid": KRSA}, signer=("PS256", RSA))

CASES = [
    # (description, how the token is made: token()'s arguments, the audiences the call accepts, expected reason)
    ("ES384, P-384 key with alg and use", {}, [URL], None),
    ("ES256, P-256 key without alg", ES256, [URL], None),
    ("RS256, RSA key without alg", RS256, [URL], None),
    ("PS256 with the same RSA key", PS256, [URL], None),
    ("RS512 with the same RSA key", dict(RS256, alg="RS512", signer=("RS512", RSA)), [URL], None),
    ("RS256 with the key whose JWK alg is RS256", dict(RS256, header={"kid": KRSA_RS}), [URL], None),
    # 1. header
    ("typ missing", dict(header={"typ": DROP}), [URL], "header typ is not JWT"),
    ("typ another type", dict(header={"typ": "at+jwt"}), [URL], "header typ is not JWT"),
    ("typ in lower case (compared exactly)", dict(header={"typ": "jwt"}), [URL], "header typ is not JWT"),
    ("kid missing", dict(header={"kid": DROP}), [URL], "header kid missing"),
    ("kid empty", dict(header={"kid": ""}), [URL], "header kid missing"),
    ("kid not a string", dict(header={"kid": 7}), [URL], "token malformed"),
    ("alg none, no signature", dict(alg="none", signer=("none", None)), [URL], "alg none not allowed"),
    ("alg HS256 with a shared secret", dict(alg="HS256", signer=("HS256", b"s3cret" * 8)), [URL],
     "alg HS256 not allowed"),
    ("alg HS256 keyed with the RSA public key (algorithm confusion)",
     dict(alg="HS256", header={"kid": KRSA}, signer=lambda data: hmac.digest(RSA_PEM, data, hashlib.sha256)), [URL],
     "alg HS256 not allowed"),
    ("alg EdDSA", dict(alg="EdDSA"), [URL], "alg EdDSA not allowed"),
    ("alg an unregistered name is not quoted", dict(alg=f"X-{ISS}"), [URL], "alg not allowed"),
    ("alg missing", dict(alg=DROP), [URL], "alg not allowed"),
    ("alg in lower case", dict(alg="es384"), [URL], "alg not allowed"),
    ("typ before kid before alg", dict(header={"typ": DROP, "kid": DROP}, alg="none", signer=("none", None)),
     [URL], "header typ is not JWT"),
    ("kid before alg", dict(header={"kid": DROP}, alg="none", signer=("none", None)), [URL], "header kid missing"),
    # 2. issuer
    ("iss unknown", dict(claims={"iss": "https://evil.example/"}), [URL], "issuer not trusted"),
    ("iss with a trailing slash (compared exactly)", dict(claims={"iss": ISS + "/"}), [URL], "issuer not trusted"),
    ("iss in another case", dict(claims={"iss": ISS.upper()}), [URL], "issuer not trusted"),
    ("iss missing", dict(claims={"iss": DROP}), [URL], "issuer not trusted"),
    ("iss not a string", dict(claims={"iss": [ISS]}), [URL], "issuer not trusted"),
    ("alg before iss", dict(alg="HS256", signer=("HS256", b"k" * 32), claims={"iss": "x"}), [URL],
     "alg HS256 not allowed"),
    # 3. key and signature
    ("kid unknown", dict(header={"kid": "kid-nobody"}), [URL], "no key with that kid"),
    ("kid of another issuer's set", dict(ES256, header={"kid": K2}), [URL], "no key with that kid"),
    ("iss before kid", dict(header={"kid": "kid-nobody"}, claims={"iss": "x"}), [URL], "issuer not trusted"),
    ("RS256 naming the EC key, signed with it", dict(alg="RS256"), [URL], "key type or curve does not fit alg"),
    ("RS256 naming the RSA key, signed with an EC key", dict(alg="RS256", header={"kid": KRSA}), [URL],
     "signature does not verify"),
    ("ES256 naming the P-384 key (curve)", dict(alg="ES256", signer=("ES256", P256)), [URL],
     "key type or curve does not fit alg"),
    ("ES512 naming the P-384 key (curve)", dict(alg="ES512"), [URL], "key type or curve does not fit alg"),
    ("ES384 naming the RSA key (type)", dict(header={"kid": KRSA}), [URL], "key type or curve does not fit alg"),
    ("PS256 naming the key whose JWK alg is RS256", dict(PS256, header={"kid": KRSA_RS}), [URL],
     "key alg is not the header alg"),
    ("ES384 signed by a key not in the set", dict(signer=("ES384", IMPOSTER)), [URL], "signature does not verify"),
    ("payload changed after signing", dict(tamper=True), [URL], "signature does not verify"),
    ("PS256 signature presented as RS256", dict(PS256, alg="RS256"), [URL], "signature does not verify"),
    ("signature before aud", dict(signer=("ES384", IMPOSTER), claims={"aud": "x"}), [URL],
     "signature does not verify"),
    # 4. aud
    ("aud a list naming the URL", dict(claims={"aud": ["https://a.example/", URL]}), [URL], None),
    ("aud another URL", dict(claims={"aud": "https://cds.example/cds-services"}), [URL],
     "aud does not name the URL called"),
    ("aud with a trailing slash (compared exactly)", dict(claims={"aud": URL + "/"}), [URL],
     "aud does not name the URL called"),
    ("aud a list not naming it", dict(claims={"aud": ["https://a.example/", URL.upper()]}), [URL],
     "aud does not name the URL called"),
    ("aud an empty list", dict(claims={"aud": []}), [URL], "aud does not name the URL called"),
    ("aud missing", dict(claims={"aud": DROP}), [URL], "aud does not name the URL called"),
    ("aud an object", dict(claims={"aud": {URL: 1}}), [URL], "aud does not name the URL called"),
    ("feedback, aud the feedback URL", dict(claims={"aud": FEEDBACK}), [FEEDBACK, URL], None),
    ("feedback, aud the service URL", dict(claims={"aud": URL}), [FEEDBACK, URL], None),
    ("feedback, aud a list with the feedback URL", dict(claims={"aud": ["x", FEEDBACK]}), [FEEDBACK, URL], None),
    ("a call, aud the feedback URL", dict(claims={"aud": FEEDBACK}), [URL], "aud does not name the URL called"),
    ("aud before exp", dict(claims={"aud": "x", "exp": NOW - 1000}), [URL], "aud does not name the URL called"),
    # 5. times
    ("exp missing", dict(claims={"exp": DROP}), [URL], "exp missing or not a number"),
    ("exp a string", dict(claims={"exp": str(NOW + 200)}), [URL], "exp missing or not a number"),
    ("exp a boolean", dict(claims={"exp": True}), [URL], "exp missing or not a number"),
    ("exp NaN", dict(claims={"exp": float("nan")}), [URL], "exp missing or not a number"),
    ("exp Infinity", dict(claims={"exp": float("inf")}), [URL], "exp missing or not a number"),
    ("iat missing", dict(claims={"iat": DROP}), [URL], "iat missing or not a number"),
    ("iat a string", dict(claims={"iat": "yesterday"}), [URL], "iat missing or not a number"),
    ("exp and iat floats", dict(claims={"iat": NOW - 0.5, "exp": NOW + 0.5}), [URL], None),
    ("exp a huge integer", dict(claims={"exp": 10 ** 40}), [URL], "exp - iat above 300 s"),
    ("iat 59 s ahead (leeway)", dict(claims={"iat": NOW + 59, "exp": NOW + 200}), [URL], None),
    ("iat 60 s ahead (leeway, bound)", dict(claims={"iat": NOW + 60, "exp": NOW + 200}), [URL], None),
    ("iat 61 s ahead", dict(claims={"iat": NOW + 61, "exp": NOW + 200}), [URL], "iat in the future"),
    ("expired 59 s ago (leeway)", dict(claims={"iat": NOW - 200, "exp": NOW - 59}), [URL], None),
    ("expired 60 s ago", dict(claims={"iat": NOW - 200, "exp": NOW - 60}), [URL], "expired"),
    ("expired an hour ago", dict(claims={"iat": NOW - 3700, "exp": NOW - 3600}), [URL], "expired"),
    ("lifetime 300 s", dict(claims={"iat": NOW - 100, "exp": NOW + 200}), [URL], None),
    ("lifetime 301 s", dict(claims={"iat": NOW - 101, "exp": NOW + 200}), [URL], "exp - iat above 300 s"),
    ("lifetime a day", dict(claims={"iat": NOW - 10, "exp": NOW + 86400}), [URL], "exp - iat above 300 s"),
    ("iat before expiry", dict(claims={"iat": NOW + 61, "exp": NOW - 61}), [URL], "iat in the future"),
    ("expiry before lifetime", dict(claims={"iat": NOW - 4000, "exp": NOW - 61}), [URL], "expired"),
    ("times before jti", dict(claims={"exp": NOW - 61, "iat": NOW - 100, "jti": DROP}), [URL], "expired"),
    # 6. jti
    ("jti missing", dict(claims={"jti": DROP}), [URL], "jti missing"),
    ("jti empty", dict(claims={"jti": ""}), [URL], "jti missing"),
    ("jti a number", dict(claims={"jti": 12345}), [URL], "jti missing"),
    # never read
    ("jku, x5u and tenant are not read", dict(header={"jku": "http://127.0.0.1:1/jwks", "x5u": "http://127.0.0.1:1/x"},
                                             claims={"tenant": "http://127.0.0.1:1/t"}), [URL], None),
    ("jku naming a key the files lack is no way round them",
     dict(header={"jku": "http://127.0.0.1:1/jwks", "kid": "kid-from-jku"}), [URL], "no key with that kid"),
]


def _assert_quotes_nothing(reason: str | None, bearer: str) -> None:
    """The reason goes to the log (8.4): none of the token's values, nor the token, may be in it."""
    if reason is None:
        return
    assert reason in REASONS, reason
    token_text = bearer.split()[-1]
    for value in (ISS, ISS2, K384, K256, KRSA, KRSA_RS, K2, "Rk9Pw", "kid-nobody", "kid-from-jku", "evil.example",
                  "127.0.0.1", token_text, *token_text.split(".")):
        assert len(value) < 8 or value not in reason


@pytest.mark.parametrize("description, how, audiences, expected", CASES, ids=[c[0] for c in CASES])
def test_each_check_in_order(trust, description, how, audiences, expected):
    bearer = "Bearer " + token(**how)
    reason = trust.verify(bearer, audiences, now=NOW)
    assert reason == expected
    _assert_quotes_nothing(reason, bearer)


@pytest.mark.parametrize("authorization, expected", [
    (None, "no bearer token"),
    ("", "no bearer token"),
    ("Bearer", "no bearer token"),
    ("Bearer ", "no bearer token"),
    ("Basic dXNlcjpwYXNz", "no bearer token"),
    ("Bearer a b", "no bearer token"),
    ("Bearer not-a-jwt", "token malformed"),
    ("Bearer a.b.c", "token malformed"),
    ("Bearer eyJhbGciOiJFUzM4NCJ9.!!!.sig", "token malformed"),
])
def test_what_is_not_a_bearer_jwt(trust, authorization, expected):
    reason = trust.verify(authorization, [URL], now=NOW)
    assert reason == expected
    _assert_quotes_nothing(reason, authorization or "x")


def test_the_scheme_is_case_insensitive_and_spaces_are_tolerated(trust):
    assert trust.verify("bearer  " + token() + " ", [URL], now=NOW) is None
    assert trust.verify("BEARER " + token(), [URL], now=NOW) is None


def test_a_payload_that_is_not_an_object_is_malformed(trust):
    good = token()
    head, _, signature = good.split(".")
    reason = trust.verify(f"Bearer {head}.{_b64(b'[1, 2]')}.{signature}", [URL], now=NOW)
    assert reason == "token malformed"


def test_an_unknown_critical_header_is_refused(trust):
    assert trust.verify("Bearer " + token(header={"crit": ["exp"], "exp": 1}), [URL], now=NOW) == "token malformed"


def test_now_defaults_to_the_clock(trust):
    fresh = token(claims={"iat": time.time() - 5, "exp": time.time() + 120})
    assert trust.verify("Bearer " + fresh, [URL]) is None
    stale = token(claims={"iat": 1_000_000_000, "exp": 1_000_000_100})
    assert trust.verify("Bearer " + stale, [URL]) == "expired"


def test_a_jti_is_refused_the_second_time_from_its_issuer_only(trust):
    once = "Bearer " + token(claims={"jti": "jti-shared-Rk9Pw"})
    assert trust.verify(once, [URL], now=NOW) is None
    assert trust.verify(once, [URL], now=NOW + 1) == "jti replayed"
    other = token(claims={"jti": "jti-shared-Rk9Pw", "iss": ISS2}, **ES256 | {"header": {"kid": K2}})
    assert trust.verify("Bearer " + other, [URL], now=NOW + 1) is None
    assert trust.verify("Bearer " + other, [URL], now=NOW + 2) == "jti replayed"
    _assert_quotes_nothing("jti replayed", once)


def test_a_refused_token_does_not_spend_its_jti(trust):
    first = token(claims={"jti": "jti-once-Rk9Pw"}, signer=("ES384", IMPOSTER))
    assert trust.verify("Bearer " + first, [URL], now=NOW) == "signature does not verify"
    assert trust.verify("Bearer " + token(claims={"jti": "jti-once-Rk9Pw", "aud": "x"}), [URL], now=NOW) \
        == "aud does not name the URL called"
    assert trust.verify("Bearer " + token(claims={"jti": "jti-once-Rk9Pw"}), [URL], now=NOW) is None


def test_a_seen_jti_is_kept_until_exp_plus_60_s_then_forgotten(trust):
    first = token(claims={"jti": "jti-reused-Rk9Pw", "iat": NOW, "exp": NOW + 200})
    assert trust.verify("Bearer " + first, [URL], now=NOW) is None
    assert trust.verify("Bearer " + first, [URL], now=NOW + 259.9) == "jti replayed"  # still inside the exp leeway
    assert trust.verify("Bearer " + first, [URL], now=NOW + 260) == "expired"
    # The issuer reuses the id on a later token: refused while the first could still pass, accepted after.
    later = token(claims={"jti": "jti-reused-Rk9Pw", "iat": NOW + 250, "exp": NOW + 400})
    assert trust.verify("Bearer " + later, [URL], now=NOW + 259) == "jti replayed"
    assert trust.verify("Bearer " + later, [URL], now=NOW + 260) is None
    assert trust.verify("Bearer " + later, [URL], now=NOW + 261) == "jti replayed"


def test_the_replay_cache_is_pruned_as_it_goes(trust):
    for n in range(200):
        assert trust.verify("Bearer " + token(claims={"iat": NOW + n, "exp": NOW + n + 100}), [URL], now=NOW + n) \
            is None
    # Each id lives exp + 60 s = 160 s after its call: of one call a second, 160 are held, not all 200.
    assert len(trust._seen) == len(trust._expiries) == 160
    assert trust.verify("Bearer " + token(claims={"iat": NOW + 999, "exp": NOW + 1000}), [URL], now=NOW + 999) \
        is None
    assert len(trust._seen) == 1 and len(trust._expiries) == 1


class _SlowToAnswer(dict):
    """Widens the gap between asking whether a jti was seen and recording it, where an unlocked cache races."""

    def __contains__(self, item):
        seen = super().__contains__(item)
        time.sleep(0.01)
        return seen


def test_one_of_many_threads_presenting_the_same_token_is_accepted(trust):
    trust._seen = _SlowToAnswer()
    bearer = "Bearer " + token()
    barrier, results = threading.Barrier(16), []

    def call():
        barrier.wait()
        results.append(trust.verify(bearer, [URL], now=NOW))

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [None] + ["jti replayed"] * 15


def test_jku_is_never_fetched(trust, monkeypatch):
    """However the token ends, no socket is opened (8.5: the service opens none but its listener)."""
    opened = []

    def refuse(self, *args):
        opened.append(args)
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    jku = {"jku": "http://127.0.0.1:1/jwks.json", "x5u": "http://127.0.0.1:1/x5u"}
    assert trust.verify("Bearer " + token(header=jku), [URL], now=NOW) is None
    assert trust.verify("Bearer " + token(header=jku | {"kid": "kid-elsewhere"}), [URL], now=NOW) \
        == "no key with that kid"
    assert trust.verify("Bearer " + token(header=jku, signer=("ES384", IMPOSTER)), [URL], now=NOW) \
        == "signature does not verify"
    assert opened == []


# load_trust


def test_several_keys_may_share_a_kid_and_the_one_fitting_alg_is_used(tmp_path):
    shared = {"keys": [_jwk(RSA.public_key(), "shared"), _jwk(P384.public_key(), "shared")]}
    trust = load_trust({ISS: _write(tmp_path, "shared.json", shared)})
    assert trust.verify("Bearer " + token(**RS256 | {"header": {"kid": "shared"}}), [URL], now=NOW) is None
    assert trust.verify("Bearer " + token(header={"kid": "shared"}), [URL], now=NOW) is None
    assert trust.verify("Bearer " + token(alg="ES256", header={"kid": "shared"}, signer=("ES256", P256)), [URL],
                        now=NOW) == "key type or curve does not fit alg"


def test_a_private_jwk_verifies_as_its_public_half(tmp_path):
    trust = load_trust({ISS: _write(tmp_path, "private.json", {"keys": [_jwk(P384, K384)]})})
    assert trust.verify("Bearer " + token(), [URL], now=NOW) is None
    assert trust.verify("Bearer " + token(signer=("ES384", IMPOSTER)), [URL], now=NOW) == "signature does not verify"


def test_the_files_are_read_at_start_not_at_the_call(tmp_path):
    path = _write(tmp_path, "jwks.json", JWKS[ISS])
    trust = load_trust({ISS: path})
    (tmp_path / "jwks.json").unlink()
    assert trust.verify("Bearer " + token(), [URL], now=NOW) is None


def test_an_issuer_is_trusted_only_with_its_own_file(tmp_path):
    trust = load_trust({ISS2: _write(tmp_path, "jwks.json", JWKS[ISS])})
    assert trust.verify("Bearer " + token(), [URL], now=NOW) == "issuer not trusted"
    assert trust.verify("Bearer " + token(claims={"iss": ISS2}), [URL], now=NOW) is None


RSA_PRIVATE = _jwk(RSA, "kid-private")
SECRET_D = RSA_PRIVATE["d"]

BAD_FILES = [
    # (description, the file's text or None for no file, words the message must hold)
    ("missing", None, ["unreadable", "FileNotFoundError"]),
    ("not JSON", "{keys: [", ["not JSON"]),
    ("not UTF-8", b"\xff\xfe{}", ["unreadable"]),
    ("a JSON list", "[]", ["not a JWK Set"]),
    ("keys not a list", '{"keys": {}}', ["not a JWK Set"]),
    ("no keys", '{"keys": []}', ["not a JWK Set"]),
    ("a key not an object", '{"keys": ["k"]}', ["not a JWK Set"]),
    ("a single JWK, not a set", json.dumps(_jwk(P384.public_key(), K384)), ["not a JWK Set"]),
    ("an oct key", json.dumps({"keys": [_jwk(P384.public_key(), K384), HMACAlgorithm.to_jwk(b"s3cret", as_dict=True)
                                        | {"kid": "hmac"}]}), ["key 2", "symmetric (oct)"]),
    ("an oct key without kid", json.dumps({"keys": [{"kty": "oct", "k": "czNjcmV0"}]}), ["key 1", "symmetric (oct)"]),
    ("a key without kid", json.dumps({"keys": [ECAlgorithm.to_jwk(P384.public_key(), as_dict=True)]}),
     ["key 1", "no kid"]),
    ("a key with an empty kid", json.dumps({"keys": [_jwk(P384.public_key(), "")]}), ["key 1", "no kid"]),
    ("an unknown curve", json.dumps({"keys": [_jwk(P384.public_key(), K384) | {"crv": "P-999"}]}),
     ["key 1", "PyJWT cannot load it"]),
    ("no kty", json.dumps({"keys": [{"kid": "k", "x": "AA"}]}), ["key 1", "PyJWT cannot load it"]),
    ("a broken RSA private key", json.dumps({"keys": [RSA_PRIVATE | {"n": "AAAA"}]}), ["PyJWT cannot load it"]),
    ("a JWK alg that is no signature alg", json.dumps({"keys": [_jwk(RSA.public_key(), "k", alg="RSA-OAEP")]}),
     ["PyJWT cannot load it"]),
]


@pytest.mark.parametrize("description, text, words", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_a_trust_file_that_cannot_be_used(tmp_path, description, text, words):
    path = tmp_path / "jwks.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text, "utf-8")
    good = _write(tmp_path, "good.json", JWKS[ISS2])
    with pytest.raises(TrustError) as raised:
        load_trust({ISS2: good, ISS: path})
    message = str(raised.value)
    assert str(path) in message
    for word in words:
        assert word in message
    assert SECRET_D not in message and "s3cret" not in message and "czNjcmV0" not in message


def test_a_good_trust_file_loads(tmp_path):
    assert isinstance(load_trust({ISS: _write(tmp_path, "jwks.json", JWKS[ISS])}), Trust)
    assert isinstance(load_trust({}), Trust)
