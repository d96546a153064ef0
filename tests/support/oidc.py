"""The development OpenID provider (services/oidc-dev) as a real process, and a sign-in through it.

`sign_in` goes through the provider's real authorization code flow with PKCE over HTTP, as a browser
would (the login form with the development account, redirects, cookies), then redeems the code at the
token endpoint for a JWT access token for the relay's audience.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import signal
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

from tests.support.tokens import SigningKey

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "services" / "oidc-dev" / "server.mjs"
DEV_USERNAME = "dev@scrollr.local"
DEV_PASSWORD = "scrollr-dev"
DEV_SUB = "dev-user"
AUDIENCE = "https://api.scrollr.test"
DASHBOARD_CLIENT = "scrollr-dashboard"
TEST_REDIRECT = "http://127.0.0.1:1/callback"


class DevProvider:
    def __init__(
        self,
        *,
        key: SigningKey | None = None,
        redirect_uris: tuple[str, ...] = (TEST_REDIRECT,),
        extension_redirect_uris: tuple[str, ...] = (),
        access_token_seconds: int = 600,
    ) -> None:
        self.key = key or SigningKey("dev-test-key")
        self.folder = Path(tempfile.mkdtemp(prefix="scrollr-oidc-"))
        jwks = self.folder / "jwks.json"
        jwks.write_text(json.dumps({"keys": [self.key.private_jwk]}))
        self.env = {
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "OIDC_PORT": "0",
            "AUTH_AUDIENCE": AUDIENCE,
            "OIDC_JWKS_FILE": str(jwks),
            "OIDC_REDIRECT_URIS": ",".join(redirect_uris),
            "OIDC_EXTENSION_REDIRECT_URIS": ",".join(extension_redirect_uris),
            "OIDC_ACCESS_TOKEN_SECONDS": str(access_token_seconds),
        }
        self.issuer = ""
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> DevProvider:
        log = (self.folder / "provider.log").open("w")
        self.proc = subprocess.Popen(
            ["node", str(SERVER)], env=self.env, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # `issuer <url>` once it listens
        if not line.startswith("issuer "):
            raise RuntimeError(f"the development provider didn't start: {line!r} {self.log()}")
        self.issuer = line.split()[1]
        return self

    def log(self) -> str:
        return (self.folder / "provider.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def relay_env(self) -> dict[str, str]:
        return {"AUTH_ISSUER": self.issuer, "AUTH_AUDIENCE": AUDIENCE}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def sign_in(
    provider: DevProvider,
    *,
    username: str = DEV_USERNAME,
    password: str = DEV_PASSWORD,
    client_id: str = DASHBOARD_CLIENT,
    redirect_uri: str = TEST_REDIRECT,
) -> dict[str, object]:
    """The token response of a whole authorization code + PKCE sign-in (access_token, id_token, ...)."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": "openid profile preferences",
        "resource": AUDIENCE,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with httpx.Client(base_url=provider.issuer, timeout=10) as client:
        location = f"/auth?{urlencode(params)}"
        for _ in range(10):  # follow the provider's redirects, posting the login form when asked
            if location.startswith(redirect_uri):
                break
            page = client.get(location)
            if page.status_code == 200 and "<form" in page.text:
                action = re.search(r'action="([^"]+)"', page.text)
                assert action is not None, page.text
                page = client.post(action.group(1), data={"username": username, "password": password})
                if page.status_code == 401:
                    raise PermissionError("wrong username or password")
            assert page.status_code in (302, 303), (page.status_code, page.text[:500])
            location = urljoin(provider.issuer + "/", page.headers["location"])
        query = parse_qs(urlsplit(location).query)
        assert query.get("state") == [state], location
        token = client.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "code_verifier": verifier,
                "resource": AUDIENCE,
            },
        )
        assert token.status_code == 200, token.text
        result: dict[str, object] = token.json()
        return result
