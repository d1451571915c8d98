"""The deployments API: the Mockoon desktop app's contract plus our own calls, over HTTP.

Errors are ``{"message": …}`` with the right status; environment errors add ``path``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from .api_rate import ApiRateLimiter, Limited
from .http_server import HttpRequest, HttpResponse
from .registry import Account
from .registry_db import RegistryUnavailable
from .service import ApiError, Supervisor

_DEPLOYMENT = re.compile(r"^/deployments/([A-Za-z0-9_.:-]{1,128})$")
_API_KEY = re.compile(r"^/deployments/([A-Za-z0-9_.:-]{1,128})/api-key$")
_RESET = re.compile(r"^/deployments/([A-Za-z0-9_.:-]{1,128})/reset$")


def _error(error: ApiError) -> HttpResponse:
    payload: dict[str, Any] = {"message": error.message, **error.extra}
    response = HttpResponse.json(error.status, payload)
    if error.status == 401:
        response.headers.append(("WWW-Authenticate", 'Bearer realm="mockfleet"'))
    return response


def _limited(limited: Limited) -> HttpResponse:
    response = HttpResponse.json(429, {"message": f"too many {limited.what} from this account: retry in "
                                                  f"{limited.retry_after_header} s",
                                       "retryAfter": round(limited.retry_after, 3)})
    response.headers.append(("Retry-After", limited.retry_after_header))
    return response


class DeploymentsApi:
    def __init__(self, supervisor: Supervisor, limiter: ApiRateLimiter | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.supervisor = supervisor
        self.limiter = limiter or ApiRateLimiter()
        self.clock = clock

    def _account(self, request: HttpRequest) -> Account:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "missing account token: send Authorization: Bearer <token>")
        account = self.supervisor.registry.account_by_token(token.strip())
        if account is None:
            raise ApiError(401, "invalid account token")
        return account

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return await self._dispatch(request)
        except ApiError as error:
            return _error(error)
        except RegistryUnavailable as error:  # PostgreSQL down: say so, the caller may retry
            return _error(ApiError(503, f"the registry is unavailable, nothing was changed: {error}"))

    async def _dispatch(self, request: HttpRequest) -> HttpResponse:
        path = request.path.rstrip("/") or "/"
        method = request.method
        if path == "/health" and method == "GET":
            return HttpResponse.json(200, {"status": "ok"})
        account = self._account(request)
        limited = self.limiter.check(account.id, self.clock(), deploy=path == "/deployments" and method == "POST")
        if limited is not None:
            return _limited(limited)
        sup = self.supervisor
        if path == "/deployments":
            if method == "GET":
                # ``state`` beside the app's two-valued ``status``: FAILED and STARTING stay visible to ``mockfleet ls``
                return HttpResponse.json(200, [{**sup.instance(d), "state": sup.state_of(d)}
                                               for d in sup.registry.deployments(account.id)])
            if method == "POST":
                return HttpResponse.json(200, await sup.deploy(account, request.body))
            raise ApiError(405, f"{method} is not allowed on /deployments")
        if path == "/deployments/subdomain":
            if method != "POST":
                raise ApiError(405, f"{method} is not allowed on /deployments/subdomain")
            sup.check_subdomain(account, request.body)
            return HttpResponse.json(200, {"message": "subdomain available"})
        if path == "/account" and method == "GET":
            return HttpResponse.json(200, sup.account_info(account))
        if match := _API_KEY.match(path):
            if method != "POST":
                raise ApiError(405, f"{method} is not allowed here")
            return HttpResponse.json(200, sup.rotate_key(account, match.group(1)))
        if match := _RESET.match(path):
            if method != "POST":
                raise ApiError(405, f"{method} is not allowed here")
            return HttpResponse.json(200, await sup.reset(account, match.group(1)))
        if match := _DEPLOYMENT.match(path):
            if method == "GET":
                remote = await sup.fleet.details_elsewhere(account, match.group(1))  # its own server's view
                if remote is not None:
                    return HttpResponse.json(200, remote)
                answer = sup.details(account, match.group(1))
                answer["outbound"] = await sup.outbound_counts(match.group(1))
                return HttpResponse.json(200, answer)
            if method == "DELETE":
                return HttpResponse.json(200, await sup.delete(account, match.group(1)))
            raise ApiError(405, f"{method} is not allowed here")
        raise ApiError(404, f"no such endpoint: {method} {path}")
