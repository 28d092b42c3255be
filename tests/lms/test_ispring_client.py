"""The iSpring Learn client against the loopback emulator: a real HTTP server."""
from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ispring_emulator import ISpringEmulator
from tui_sync.config import LmsConfig, Secret
from tui_sync.errors import ConfigError, Exit, LMSError
from tui_sync.lms.base import NO_SUPERVISOR, UserRecord
from tui_sync.lms.http_retry import RateLimiter, RetryPolicy
from tui_sync.lms.ispring import ISpringLMS

FAST = RetryPolicy(attempts=4, backoff_base=0.01, backoff_max=0.05)
Connect = Callable[..., ISpringLMS]


class VirtualTime:
    """A clock that only waits move: each wait is recorded and takes no real time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # let the other callers run, as a real wait would

    def policy(self, base: RetryPolicy = FAST) -> RetryPolicy:
        return dataclasses.replace(base, clock=self.clock, sleep=self.sleep)


@pytest.fixture
async def connect(emu: ISpringEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                  ) -> AsyncIterator[Connect]:
    """Build clients for the emulator: OAuth by default, `legacy=True` for the header style."""
    monkeypatch.setenv("ISPRING_SECRET", emu.client_secret)
    monkeypatch.setenv("ISPRING_PASSWORD", emu.password)
    made: list[ISpringLMS] = []

    def make(*, legacy: bool = False, rate: float = 1000, timeout: float = 5, secret: str | None = None,
             **kw) -> ISpringLMS:
        env = "ISPRING_PASSWORD" if legacy else "ISPRING_SECRET"
        if secret is not None:  # a variable of its own: later clients keep the right secret
            env = f"ISPRING_OTHER_SECRET_{len(made)}"
            monkeypatch.setenv(env, secret)
        if legacy:
            cfg = LmsConfig(kind="ispring", base_url=emu.base_url, account_url=emu.account_url, login=emu.login,
                            password=Secret(env=env), requests_per_second=rate, timeout=timeout)
        else:
            cfg = LmsConfig(kind="ispring", base_url=emu.base_url, client_id=emu.client_id,
                            client_secret=Secret(env=env), requests_per_second=rate, timeout=timeout)
        lms = ISpringLMS(cfg, tmp_path, **{"retry": FAST, **kw})
        made.append(lms)
        return lms

    yield make
    for lms in made:
        await lms.close()


def _user(login: str, department_id: str | None = None, **kw) -> UserRecord:
    return UserRecord(id="", login=login, email=f"{login}@example.com", firstName="Ann", lastName="Lee",
                      department_id=department_id, status=kw.pop("status", "active"),
                      custom=kw.pop("custom", {"Grade": "B2"}), **kw)


# ---------------------------------------------------------------- authentication


async def test_client_credentials_token_is_fetched_once_and_shared(emu: ISpringEmulator, connect: Connect) -> None:
    lms = connect()
    await asyncio.gather(*(lms.find_department(f"X{i}") for i in range(8)))
    assert emu.count("POST", "/api/v3/token") == 1
    assert emu.count("GET", "/department") == 8
    assert {r.auth for r in emu.requests if r.path == "/department"} == {"bearer"}


async def test_legacy_header_credentials_work(emu: ISpringEmulator, connect: Connect) -> None:
    snap = await connect(legacy=True).snapshot()
    assert snap.root_id == emu.root_id
    assert emu.count("POST", "/api/v3/token") == 0
    assert {r.auth for r in emu.requests} == {"legacy"}


@pytest.mark.parametrize("legacy", [False, True])
async def test_a_secret_that_is_not_set_is_named_before_any_request(
        emu: ISpringEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, legacy: bool) -> None:
    monkeypatch.delenv("TUI_SYNC_UNSET_SECRET", raising=False)
    secret = Secret(env="TUI_SYNC_UNSET_SECRET")
    cfg = (LmsConfig(kind="ispring", base_url=emu.base_url, account_url=emu.account_url, login=emu.login,
                     password=secret) if legacy
           else LmsConfig(kind="ispring", base_url=emu.base_url, client_id=emu.client_id, client_secret=secret))
    with pytest.raises(ConfigError, match="TUI_SYNC_UNSET_SECRET is not set"):
        ISpringLMS(cfg, tmp_path)
    assert emu.requests == []


async def test_token_is_renewed_before_it_expires(emu: ISpringEmulator, connect: Connect) -> None:
    emu.token_lifetime = 1
    now = [1000.0]
    emu.clock = lambda: now[0]  # one clock for the account and the client: only the test moves it
    lms = connect(clock=lambda: now[0])
    await lms.find_department("A")
    now[0] += 0.85  # before the renewal point (a tenth of the lifetime before expiry)
    await lms.find_department("A")
    assert emu.count("POST", "/api/v3/token") == 1
    now[0] += 0.1  # past it
    await lms.find_department("A")
    assert emu.count("POST", "/api/v3/token") == 2
    assert emu.count(status=401) == 0


async def test_token_expired_mid_run_is_renewed_once_and_the_request_retried(
        emu: ISpringEmulator, connect: Connect) -> None:
    lms = connect()
    did = await lms.create_department(code="S", name="Sales", parent_id=None)
    emu.expire_tokens()
    await lms.update_department(did, {"name": "Sales & Marketing"})
    assert emu.count("POST", "/api/v3/token") == 2
    assert emu.count("POST", "/department/.*", status=401) == 1
    assert emu.count("POST", "/department/.*", status=204) == 1
    assert (await lms.get_department(did)).name == "Sales & Marketing"


async def test_wrong_client_secret_is_a_clear_lms_error(emu: ISpringEmulator, connect: Connect) -> None:
    lms = connect(secret="definitely-wrong-secret")
    with pytest.raises(LMSError) as caught:
        await lms.snapshot()
    text = str(caught.value)
    assert "refused the API client credentials" in text and emu.client_id in text
    assert "client_secret" in text  # the hint says what to check
    assert "definitely-wrong-secret" not in text
    assert caught.value.exit_code == Exit.UNREADABLE


async def test_wrong_legacy_password_is_a_clear_lms_error(emu: ISpringEmulator, connect: Connect) -> None:
    with pytest.raises(LMSError) as caught:
        await connect(legacy=True, secret="definitely-wrong-password").snapshot()
    text = str(caught.value)
    assert f"refused the login {emu.login!r}" in text and emu.account_url in text
    assert "definitely-wrong-password" not in text


# ---------------------------------------------------------------- reading


async def test_snapshot_reads_every_page(emu: ISpringEmulator, connect: Connect) -> None:
    top = emu.add_department("Top", "TOP")
    for i in range(6):
        emu.add_department(f"D{i}", f"D{i}", top)
    for i in range(10):
        emu.add_user(f"u{i}", f"u{i}@example.com", department_id=top, Grade="A")
    snap = await connect(page_size=3).snapshot()
    assert snap.departments.height == 7  # the root left out
    assert snap.users.height == 10
    assert sorted(snap.users["login"].to_list()) == sorted(f"u{i}" for i in range(10))
    assert emu.count("GET", "/departments") == 3  # 8 departments with the root, 3 a page
    assert emu.count("GET", "/users/v2") == 4


async def test_snapshot_maps_departments_statuses_and_supervisors(emu: ISpringEmulator, connect: Connect) -> None:
    sales = emu.add_department("Sales", "007")
    east = emu.add_department("East", "EAST", sales)
    boss = emu.add_user("boss", "boss@example.com", Grade="A")
    ann = emu.add_user("ann", "ann@example.com", "Ann", "Lee", department_id=east, status=3, Grade="B",
                       job_title="Engineer", phone="+1 555")
    emu.add_user("gone", "gone@example.com", status=5, Grade="C")
    lms = connect()
    await lms.set_supervisors(ann, boss, NO_SUPERVISOR)
    snap = await lms.snapshot()
    depts = {d["code"]: d for d in snap.departments.to_dicts()}
    assert depts["007"]["parent_id"] is None and depts["EAST"]["parent_id"] == sales
    users = {u["login"]: u for u in snap.users.to_dicts()}
    assert users["ann"] == {
        "id": ann, "login": "ann", "email": "ann@example.com", "firstName": "Ann", "lastName": "Lee",
        "department_id": east, "status": "inactive", "subordination": boss, "coSubordination": NO_SUPERVISOR,
        "phone": "+1 555", "jobTitle": "Engineer", "custom:Grade": "B", "custom:Site": None,
    }
    assert users["boss"]["department_id"] is None and users["boss"]["subordination"] is None
    assert users["gone"]["status"] == "terminated"


async def test_fields_as_a_list_with_other_spellings_are_read(emu: ISpringEmulator, connect: Connect) -> None:
    emu.fields_shape = "list"
    emu.field_name_case = str.upper
    uid = emu.add_user("ann", "ann@example.com", "Ann", "Lee", Grade="B", job_title="Engineer")
    lms = connect()
    snap = await lms.snapshot()
    row = snap.users.to_dicts()[0]
    assert (row["login"], row["firstName"], row["jobTitle"], row["custom:Grade"]) == ("ann", "Ann", "Engineer", "B")
    user = await lms.get_user(uid)
    assert user.custom == {"Grade": "B"} and user.email == "ann@example.com"


async def test_profile_field_catalogue_gives_required_and_custom_fields(connect: Connect) -> None:
    lms = connect()
    snap = await lms.snapshot()
    assert snap.required_fields == ("Grade",)  # login, email, names are required by tui_sync anyway
    assert snap.known_custom_fields == ("Grade", "Site")
    info = await lms.describe()
    assert info["departments"] == 0 and info["users"] == 0
    assert info["required_fields"] == ["login", "email", "firstName", "lastName", "Grade"]
    assert info["custom_fields"] == ["Grade", "Site"]
    assert info["auth"] == "OAuth client credentials"


async def test_find_user_by_login_or_email_ignores_case(emu: ISpringEmulator, connect: Connect) -> None:
    uid = emu.add_user("Ann.Lee", "Ann@Example.com", Grade="A")
    lms = connect()
    assert (await lms.find_user(login="ann.lee")).id == uid
    assert (await lms.find_user(login="nobody", email="ann@example.COM")).id == uid
    assert await lms.find_user(login="nobody", email="nobody@example.com") is None
    assert await lms.get_user("no-such-id") is None
    assert await lms.get_department("no-such-id") is None


async def test_read_users_takes_a_paged_reread_when_it_costs_fewer_requests(
        emu: ISpringEmulator, connect: Connect) -> None:
    """A2 cost model: 250 users, pages of 100 (3 requests) against 250 ids + 1 login (3 + 1 filtered reads)."""
    ids = [emu.add_user(f"u{i}", f"u{i}@example.com", Grade="A") for i in range(250)]
    lms = connect(page_size=100)
    found = await lms.read_users(ids=ids[:249] + ["no-such-id"], logins=["U249"], account_users=250)
    assert sorted(u.id for u in found) == sorted(ids)
    reads = [r for r in emu.requests if r.path == "/users/v2"]
    assert len(reads) == 3 and not [r for r in reads if "userIds" in r.query or "logins" in r.query]


async def test_read_users_filters_a_small_wave(emu: ISpringEmulator, connect: Connect) -> None:
    ids = [emu.add_user(f"u{i}", f"u{i}@example.com", Grade="A") for i in range(250)]
    lms = connect(page_size=100)
    found = await lms.read_users(ids=ids[:5], emails=["U7@example.COM"], account_users=250)
    assert sorted(u.login for u in found) == ["u0", "u1", "u2", "u3", "u4", "u7"]
    reads = [r for r in emu.requests if r.path == "/users/v2"]
    assert sorted(r.query.split("%5B%5D")[0] for r in reads) == ["emails", "userIds"]


async def test_read_users_learns_the_account_size_from_its_snapshot(emu: ISpringEmulator, connect: Connect) -> None:
    for i in range(30):
        emu.add_user(f"u{i}", f"u{i}@example.com", Grade="A")
    lms = connect(page_size=100)
    await lms.snapshot()
    before = len(emu.requests)
    found = await lms.read_users(logins=["u1"], emails=["u2@example.com"])
    assert sorted(u.login for u in found) == ["u1", "u2"]
    assert [r.query for r in emu.requests[before:]] == ["pageSize=100"]  # one page, no filters


async def test_keys_too_long_for_a_url_are_read_with_post_users_v2(emu: ISpringEmulator, connect: Connect) -> None:
    """A filtered read whose URL would pass ~6,000 characters sends its filters in the body."""
    long = "x" * 80
    ids = [emu.add_user(f"{long}.{i}", f"{long}.{i}@example.com", Grade="A") for i in range(120)]
    lms = connect(page_size=30)
    found = await lms.read_users(logins=[f"{long}.{i}".upper() for i in range(100)], emails=[f"{long}.3@example.com"])
    assert sorted(u.id for u in found) == sorted(ids[:100])
    assert emu.count("POST", "/users/v2", status=200) == 4  # the 100 long logins, in pages of 30
    assert emu.count("GET", "/users/v2", status=200) == 1  # the one email: a short URL
    assert emu.count(status=414) == 0


async def test_the_emulator_refuses_a_url_too_long_like_a_front_end(emu: ISpringEmulator, connect: Connect) -> None:
    lms = connect()
    with pytest.raises(LMSError, match="414|too long|Too Long"):
        await lms.find_user(login="y" * 9000)
    assert emu.count("GET", "/users/v2", status=414) == 1


# ---------------------------------------------------------------- writing


async def test_departments_are_created_updated_and_deleted(emu: ISpringEmulator, connect: Connect) -> None:
    lms = connect()
    sales = await lms.create_department(code="S", name="Sales", parent_id=None)
    east = await lms.create_department(code="E", name="East", parent_id=sales)
    other = await lms.create_department(code="O", name="Other", parent_id=None)
    assert (await lms.find_department("e")).parent_id == sales
    await lms.update_department(east, {"name": "East side", "code": "E1", "parent_id": other})
    assert await lms.get_department(east) == type(await lms.get_department(east))(
        id=east, code="E1", name="East side", parent_id=other)
    await lms.update_department(east, {"parent_id": None})
    assert (await lms.get_department(east)).parent_id is None
    await lms.delete_department(east)
    assert await lms.get_department(east) is None
    with pytest.raises(LMSError, match="root department cannot be deleted"):
        await lms.delete_department(emu.root_id)


async def test_deleting_a_department_with_users_says_department_has_users(
        emu: ISpringEmulator, connect: Connect) -> None:
    lms = connect()
    did = await lms.create_department(code="S", name="Sales", parent_id=None)
    await lms.create_user(_user("ann", did))
    assert await lms.department_user_count(did) == 1
    with pytest.raises(LMSError, match="department_has_users") as caught:
        await lms.delete_department(did)
    assert caught.value.exit_code == Exit.UNREADABLE
    assert await lms.get_department(did) is not None


async def test_users_are_created_and_updated(emu: ISpringEmulator, connect: Connect) -> None:
    lms = connect()
    sales = await lms.create_department(code="S", name="Sales", parent_id=None)
    uid = await lms.create_user(_user("ann", sales, jobTitle="Engineer", status="inactive",
                                      custom={"grade": "B2", "Site": "Berlin"}))
    stored = emu.user_by_login("ann")
    assert stored["userId"] == uid and stored["status"] == 3 and stored["departmentId"] == sales
    assert stored["fields"] == {"login": "ann", "email": "ann@example.com", "first_name": "Ann",
                                "last_name": "Lee", "job_title": "Engineer", "Grade": "B2", "Site": "Berlin"}
    await lms.update_user(uid, {"email": "ann.lee@example.com", "jobTitle": None, "custom:site": "",
                                "department_id": None, "status": "active"})
    user = await lms.get_user(uid)
    assert (user.email, user.jobTitle, user.department_id, user.status) == ("ann.lee@example.com", None, None, "active")
    assert user.custom == {"Grade": "B2"}
    assert not hasattr(lms, "delete_user")  # users are never deleted


async def test_update_of_a_user_not_read_before_sends_login_and_email(emu: ISpringEmulator, connect: Connect) -> None:
    uid = emu.add_user("ann", "ann@example.com", Grade="A")
    await connect().update_user(uid, {"firstName": "Anna"})  # the API requires login and email in `fields`
    assert emu.user_by_login("ann")["fields"]["first_name"] == "Anna"


@pytest.mark.parametrize("status", [409, 400])
async def test_a_taken_login_is_refused_with_the_api_message(status: int, monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    with ISpringEmulator(duplicate_status=status) as emu:
        monkeypatch.setenv("ISPRING_SECRET", emu.client_secret)
        cfg = LmsConfig(kind="ispring", base_url=emu.base_url, client_id=emu.client_id,
                        client_secret=Secret(env="ISPRING_SECRET"), requests_per_second=1000)
        async with ISpringLMS(cfg, tmp_path, retry=FAST) as lms:
            await lms.create_user(_user("ann", custom={}))
            with pytest.raises(LMSError, match="create user ANN: Login ANN must be unique"):
                await lms.create_user(_user("ANN", custom={}))
        assert len(emu.users()) == 1


async def test_bulk_status_changes_go_in_batches(emu: ISpringEmulator, connect: Connect) -> None:
    ids = [emu.add_user(f"u{i}", f"u{i}@example.com", Grade="A") for i in range(5)]
    lms = connect(status_batch=2)
    await lms.set_status(ids, "inactive")
    assert emu.count("POST", "/users/deactivate") == 3
    await lms.set_status(ids[:1], "terminated")
    await lms.set_status(ids[1:2], "active")
    assert [u["status"] for u in emu.users()] == [5, 1, 3, 3, 3]
    with pytest.raises(LMSError, match="invalid status"):
        await lms.set_status(ids, "blocked")


async def test_supervisor_links_are_written_and_read_back(emu: ISpringEmulator, connect: Connect) -> None:
    boss = emu.add_user("boss", "boss@example.com", Grade="A")
    ann = emu.add_user("ann", "ann@example.com", Grade="A")
    lms = connect()
    await lms.set_supervisors(ann, boss, boss)
    user = await lms.get_user(ann)
    assert (user.subordination, user.coSubordination) == (boss, boss)
    await lms.update_user(ann, {"coSubordination": NO_SUPERVISOR})
    user = await lms.get_user(ann)
    assert (user.subordination, user.coSubordination) == (boss, NO_SUPERVISOR)
    await lms.set_supervisors(ann, None, None)
    assert emu.user_by_login("ann")["subordination"] == {"subordinationType": "inherit"}
    with pytest.raises(LMSError, match="own supervisor"):
        await lms.set_supervisors(ann, ann, None)


async def test_batch_is_a_no_op_context(connect: Connect) -> None:
    lms = connect()
    async with lms.batch():
        await lms.create_department(code="S", name="Sales", parent_id=None)
    assert (await lms.find_department("S")).name == "Sales"


# ---------------------------------------------------------------- politeness and resilience


async def test_429_waits_as_retry_after_says(emu: ISpringEmulator, connect: Connect) -> None:
    virtual = VirtualTime()
    lms = connect(retry=virtual.policy())
    await lms.find_department("warm-up")  # the token
    emu.fail(429, retry_after=1, path="/department")
    virtual.waits.clear()
    await lms.find_department("S")
    # the rate limit's spacing (1/1000 s) before the first try, then the Retry-After, not FAST's backoff
    assert virtual.waits == pytest.approx([1 / 1000, 1.0])
    assert emu.count("GET", "/department", status=429) == 1 and emu.count("GET", "/department", status=200) == 2


async def test_429_on_a_create_is_retried_without_a_check(emu: ISpringEmulator, connect: Connect) -> None:
    lms = connect()
    emu.fail(429, retry_after=0.1, method="POST", path="/department")
    await lms.create_department(code="S", name="Sales", parent_id=None)
    assert emu.count("POST", "/department") == 2 and emu.count("GET", "/department") == 0


async def test_500_is_retried(emu: ISpringEmulator, connect: Connect) -> None:
    emu.fail(500, times=2, path="/departments")
    snap = await connect().snapshot()
    assert snap.root_id == emu.root_id
    assert emu.count("GET", "/departments", status=500) == 2


async def test_persistent_500_ends_in_a_clear_error(emu: ISpringEmulator, connect: Connect) -> None:
    emu.fail(503, times=100, path="/departments")
    with pytest.raises(LMSError, match=r"could not list departments: HTTP 503.*4 attempts") as caught:
        await connect().snapshot()
    assert caught.value.exit_code == Exit.UNREADABLE


async def test_timeout_is_retried(emu: ISpringEmulator, connect: Connect) -> None:
    lms = connect(timeout=0.2)
    emu.stall(0.5, path="/department")
    assert await lms.find_department("S") is None
    assert emu.count("GET", "/department") == 2


async def test_create_whose_answer_was_lost_after_the_write_makes_no_duplicate(
        emu: ISpringEmulator, connect: Connect) -> None:
    lms = connect()
    emu.drop(method="POST", path="/user", after_apply=True)
    uid = await lms.create_user(_user("ann"))
    assert [u["userId"] for u in emu.users()] == [uid]
    assert emu.count("POST", "/user") == 1  # looked (GET /users/v2), found it, did not post again


async def test_create_dropped_before_the_write_is_tried_again(emu: ISpringEmulator, connect: Connect) -> None:
    lms = connect()
    emu.drop(method="POST", path="/user")
    uid = await lms.create_user(_user("ann"))
    assert [u["userId"] for u in emu.users()] == [uid]
    assert emu.count("POST", "/user") == 2


async def test_department_create_with_500_after_the_write_makes_no_duplicate(
        emu: ISpringEmulator, connect: Connect) -> None:
    lms = connect()
    emu.fail(500, method="POST", path="/department", after_apply=True)
    did = await lms.create_department(code="S", name="Sales", parent_id=None)
    assert [d["departmentId"] for d in emu.departments() if d["code"] == "S"] == [did]


async def test_create_that_timed_out_after_the_write_makes_no_duplicate(
        emu: ISpringEmulator, connect: Connect) -> None:
    lms = connect(timeout=0.2)
    emu.stall(0.4, method="POST", path="/user")
    uid = await lms.create_user(_user("ann"))
    assert [u["userId"] for u in emu.users()] == [uid]


async def test_rate_limit_spaces_requests_across_concurrent_calls(emu: ISpringEmulator, connect: Connect) -> None:
    virtual = VirtualTime()
    lms = connect(rate=20, retry=virtual.policy())
    started = virtual.now
    await asyncio.gather(*(lms.find_department(f"X{i}") for i in range(6)))  # + 1 token request
    assert emu.count("POST", "/api/v3/token") == 1 and emu.count("GET", "/department") == 6
    # the first start is free; each of the other 6 waits for its slot, 1/20 s after the one before
    assert virtual.waits == pytest.approx([1 / 20] * 6) and virtual.now - started == pytest.approx(6 / 20)


async def test_rate_limiter_pause_holds_waiting_callers() -> None:
    virtual = VirtualTime()
    limiter = RateLimiter(10, clock=virtual.clock, sleep=virtual.sleep)
    await limiter.acquire()  # the first start is free
    asleep = asyncio.create_task(limiter.acquire())  # reserves the next slot, 0.1 s on, and sleeps
    await asyncio.sleep(0)
    assert virtual.waits == pytest.approx([0.1]) and not asleep.done()
    paused_at = virtual.now
    limiter.pause(0.5)  # a 429 while it sleeps
    await asleep
    assert virtual.waits == pytest.approx([0.1, 0.5]) and virtual.now == pytest.approx(paused_at + 0.5)


async def test_secrets_never_reach_logs_or_errors(emu: ISpringEmulator, connect: Connect,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    lms = connect()
    did = await lms.create_department(code="S", name="Sales", parent_id=None)
    emu.expire_tokens()
    emu.fail(429, retry_after=0.05)
    emu.fail(500, path="/users/v2")
    emu.drop(method="POST", path="/user", after_apply=True)
    await lms.create_user(_user("ann", did))
    await lms.snapshot()
    errors = []
    for bad in (connect(secret="wrong-secret-value-1"), connect(legacy=True, secret="wrong-password-value-2")):
        with pytest.raises(LMSError) as caught:
            await bad.snapshot()
        errors.append(str(caught.value))
    legacy = connect(legacy=True)
    await legacy.snapshot()
    shown = caplog.text + "\n".join(errors)
    assert "retrying" in caplog.text  # the log did record the trouble
    for secret in (emu.client_secret, emu.password, "wrong-secret-value-1", "wrong-password-value-2",
                   *emu.issued_tokens):
        assert secret not in shown
    assert len(emu.issued_tokens) >= 2


async def test_refused_credentials_are_not_sent_again(emu: ISpringEmulator, connect: Connect) -> None:
    for lms, path in ((connect(secret="wrong-secret-value"), "/api/v3/token"),
                      (connect(legacy=True, secret="wrong-password-value"), "/departments")):
        for _ in range(3):
            with pytest.raises(LMSError, match="refused"):
                await lms.snapshot()
        assert emu.count(path=path, status=401) == 1  # one refusal; the parallel reads stopped with it
