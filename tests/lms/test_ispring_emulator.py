"""The iSpring Learn emulator follows the documented API (so that client tests mean something)."""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ispring_emulator import ISpringEmulator


@pytest.fixture
def api(emu: ISpringEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, trust_env=False) as client:
        token = client.post("/api/v3/token", data={
            "client_id": emu.client_id, "client_secret": emu.client_secret, "grant_type": "client_credentials",
        }).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def _user_body(emu: ISpringEmulator, login: str, **fields: str) -> dict:
    return {"departmentId": emu.root_id,
            "fields": {"login": login, "email": f"{login}@example.com", "first_name": "A", "last_name": "B",
                       "Grade": "B2", **fields}}


def test_token_has_the_documented_shape(emu: ISpringEmulator) -> None:
    r = httpx.post(f"{emu.base_url}/api/v3/token", data={
        "client_id": emu.client_id, "client_secret": emu.client_secret, "grant_type": "client_credentials"})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 1800 and body["access_token"]


def test_wrong_client_secret_and_missing_auth_are_401(emu: ISpringEmulator) -> None:
    r = httpx.post(f"{emu.base_url}/api/v3/token", data={
        "client_id": emu.client_id, "client_secret": "nope", "grant_type": "client_credentials"})
    assert r.status_code == 401 and set(r.json()) == {"code", "message"}
    assert httpx.get(f"{emu.base_url}/departments").status_code == 401


def test_legacy_headers_authenticate(emu: ISpringEmulator) -> None:
    headers = {"X-Auth-Account-Url": emu.account_url, "X-Auth-Email": emu.login, "X-Auth-Password": emu.password}
    assert httpx.get(f"{emu.base_url}/departments", headers=headers).status_code == 200
    headers["X-Auth-Password"] = "wrong"
    assert httpx.get(f"{emu.base_url}/departments", headers=headers).status_code == 401


def test_token_expires_after_its_lifetime(emu: ISpringEmulator, api: httpx.Client) -> None:
    now = [1000.0]
    emu.clock = lambda: now[0]
    emu.token_lifetime = 60
    answer = api.post("/api/v3/token", data={
        "client_id": emu.client_id, "client_secret": emu.client_secret, "grant_type": "client_credentials",
    }).json()
    assert answer["expires_in"] == 60
    headers = {"Authorization": f"Bearer {answer['access_token']}"}
    now[0] += 59.9
    assert api.get("/departments", headers=headers).status_code == 200
    now[0] += 0.1
    assert api.get("/departments", headers=headers).status_code == 401


def test_expire_tokens_invalidates_issued_tokens(emu: ISpringEmulator, api: httpx.Client) -> None:
    assert api.get("/departments").status_code == 200
    emu.expire_tokens()
    assert api.get("/departments").status_code == 401


def test_department_needs_a_parent_and_delete_is_refused_for_root_and_users(
        emu: ISpringEmulator, api: httpx.Client) -> None:
    assert api.post("/department", json={"name": "X", "code": "X"}).status_code == 400
    r = api.post("/department", json={"name": "Sales", "code": "S", "parentDepartmentId": emu.root_id})
    assert r.status_code == 201
    did = r.json()
    assert api.post("/user", json={**_user_body(emu, "a"), "departmentId": did}).status_code == 201
    assert api.delete(f"/department/{did}").status_code == 400
    assert api.delete(f"/department/{emu.root_id}").status_code == 400
    assert api.get("/department", params={"code": "s"}).json()["departments"][0]["departmentId"] == did


def test_user_required_fields_and_statuses(emu: ISpringEmulator, api: httpx.Client) -> None:
    body = _user_body(emu, "a")
    del body["fields"]["Grade"]
    r = api.post("/user", json=body)
    assert r.status_code == 400 and "Grade" in r.json()["message"]
    uid = api.post("/user", json=_user_body(emu, "a")).json()
    assert api.post(f"/user/{uid}/status", json={"status": 2}).status_code == 400
    assert api.post(f"/user/{uid}/status", json={"status": 5}).status_code == 200
    assert api.post("/users/activate", json={"userIds": [uid]}).status_code == 200
    assert emu.user_by_login("a")["status"] == 1
    assert api.post(f"/user/{uid}", json={"fields": {"first_name": "X"}}).status_code == 400  # login, email required


@pytest.mark.parametrize("status", [409, 400])
def test_login_and_email_are_unique_regardless_of_case(status: int) -> None:
    with ISpringEmulator(duplicate_status=status) as emu, httpx.Client(base_url=emu.base_url) as api:
        headers = {"X-Auth-Account-Url": emu.account_url, "X-Auth-Email": emu.login,
                   "X-Auth-Password": emu.password}
        assert api.post("/user", json=_user_body(emu, "ann") | {"fields": {
            "login": "ann", "email": "ann@example.com", "first_name": "A", "last_name": "B"}},
            headers=headers).status_code == 201
        r = api.post("/user", json={"departmentId": emu.root_id, "fields": {
            "login": "ANN", "email": "other@example.com", "first_name": "A", "last_name": "B"}}, headers=headers)
        assert r.status_code == status and "must be unique" in r.json()["message"]
        r = api.post("/user", json={"departmentId": emu.root_id, "fields": {
            "login": "bob", "email": "Ann@Example.com", "first_name": "A", "last_name": "B"}}, headers=headers)
        assert r.status_code == status


def test_paging_with_tokens(emu: ISpringEmulator, api: httpx.Client) -> None:
    for i in range(5):
        emu.add_user(f"u{i}", f"u{i}@example.com", Grade="A")
    seen, token, pages = [], None, 0
    while True:
        params = {"pageSize": 2, **({"pageToken": token} if token else {})}
        body = api.get("/users/v2", params=params).json()
        seen += [u["fields"]["login"] for u in body["userProfiles"]]
        pages += 1
        token = body.get("nextPageToken")
        if not token:
            break
    assert seen == [f"u{i}" for i in range(5)] and pages == 3
    assert api.get("/users/v2", params={"pageToken": "garbage"}).status_code == 400


def test_faults_429_with_retry_after_500_and_drop(emu: ISpringEmulator, api: httpx.Client) -> None:
    emu.fail(429, retry_after=1, path="/departments")
    r = api.get("/departments")
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    emu.fail(500, times=2)
    assert [api.get("/departments").status_code for _ in range(3)] == [500, 500, 200]
    emu.drop(method="POST", path="/user", after_apply=True)
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/user", json=_user_body(emu, "dropped"))
    assert emu.user_by_login("dropped") is not None  # applied, though never answered
    assert emu.count("POST", "/user", status=0) == 1
