"""The reaches into SQLAlchemy's internals (storage/sqlalchemy_internals.py) do what the
public API does, and say so loudly, naming the version, when they stop; the unit of
work's connection is known through public session events (storage/fast.py)."""

from __future__ import annotations

import inspect as python_inspect
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.pool import QueuePool

from school_bot.handlers.family import read_account_and_family
from school_bot.storage.db import Database
from school_bot.storage.fast import attach, holds_connection, loaded
from school_bot.storage.models import Account, AccountGuardian, School
from school_bot.storage.sqlalchemy_internals import TESTED_WITH, close_idle, is_loaded, loaded_instance
from tests.support.core import linked, school_and_core
from tests.support.shapes import changed
from tests.support.small_school import PHONES

MODULE = "storage/sqlalchemy_internals.py"


def _state(instance: Any) -> tuple[Any, ...]:
    """What the ORM knows of an object: its identity, loaded values, changes, unloaded."""
    state = inspect(instance)
    values = {k: v for k, v in state.dict.items() if not k.startswith("_sa_")}
    changes = {a.key: a.history for a in state.attrs if a.history.has_changes()}
    return state.key, values, changes, state.unloaded, state.expired_attributes


def _account_values(account_id: int = 5) -> dict[str, Any]:
    values: dict[str, Any] = {c.key: None for c in inspect(Account).columns}
    values.update(id=account_id, platform="telegram", chat_id=str(account_id), active=True,
                  state={"step": "menu"}, notify_grades="off", failed_link_attempts=0)
    return values


def test_an_instance_filled_as_loaded_is_the_one_the_constructor_makes_as_loaded() -> None:
    mapper = inspect(Account)
    ours = loaded_instance(mapper, _account_values())
    make_transient_to_detached(ours)
    public = Account(**_account_values())
    make_transient_to_detached(public)
    assert _state(ours) == _state(public), changed(
        MODULE, TESTED_WITH, "an instance filled through its __dict__ is not as loaded")
    assert "guardian_links" in inspect(ours).unloaded


def test_loaded_is_what_the_public_unloaded_set_says() -> None:
    account = loaded_instance(inspect(Account), _account_values())
    make_transient_to_detached(account)
    for key in ("language", "state", "guardian_links"):
        assert is_loaded(account, key) == (key not in inspect(account).unloaded), changed(
            MODULE, TESTED_WITH, f"{key!r} in the object's __dict__ is not 'loaded'")
    set_committed_value(account, "guardian_links", [])
    assert is_loaded(account, "guardian_links") and "guardian_links" not in inspect(account).unloaded


async def test_an_idle_session_closed_directly_is_closed_as_async_with_closes_it(
        db: Database) -> None:
    """A session that holds no connection: `close_idle` leaves it as `AsyncSession.close`
    does (nothing held, its objects detached), and that close still only runs
    `Session.close`."""
    pool = db.engine.pool
    assert isinstance(pool, QueuePool)  # the engine's pool, whose checked-out count is read
    outcome: list[tuple[object, ...]] = []
    for close in (close_idle, AsyncSession.close):
        session = db.sessions()
        school = School(id=f"sch-{len(outcome)}", name="x", launched=True)
        make_transient_to_detached(school)
        session.add(school)
        assert not holds_connection(session.sync_session)
        result = close(session)
        if result is not None:
            await result
        outcome.append((session.sync_session.get_transaction(), list(session.identity_map.keys()),
                        inspect(school).detached, pool.checkedout()))
    assert outcome[0] == outcome[1] == (None, [], True, 0), changed(
        MODULE, TESTED_WITH, f"closed directly: {outcome[0]}; by AsyncSession.close: {outcome[1]}")
    assert "self.sync_session.close" in python_inspect.getsource(AsyncSession.close), changed(
        MODULE, TESTED_WITH, "AsyncSession.close does more than Session.close")


async def test_a_unit_of_work_holds_a_connection_from_its_first_statement_to_its_end(
        db: Database) -> None:
    await school_and_core(db)
    async with db.unit_of_work() as session:
        sync = session.sync_session
        school = School(id="sch-new", name="Нова", launched=False)
        session.add(school)  # the session's bookkeeping begins; no connection yet
        assert sync.get_transaction() is not None and not holds_connection(sync)
        await session.flush()
        assert holds_connection(sync)
        await session.commit()
        assert not holds_connection(sync)
        await session.scalar(select(School.name).where(School.id == "sch-new"))
        assert holds_connection(sync)
        await session.rollback()
        assert not holds_connection(sync)
        async with session.begin_nested():  # a savepoint begins with its first statement
            assert not holds_connection(sync)
            await session.scalar(select(School.name).where(School.id == "sch-new"))
            assert holds_connection(sync)
        assert holds_connection(sync)


async def test_an_attached_account_and_its_links_take_changes_on_each_path(
        db: Database, each_path: bool) -> None:
    core = await school_and_core(db)
    await linked(db, core, PHONES.koval, "k")
    async with db.unit_of_work() as session:
        account, _family = await read_account_and_family(session, "telegram", "k")
        assert account is not None and loaded(account, "guardian_links")
        assert [link.guardian_id for link in account.guardian_links] == ["g-koval"]
        assert not session.dirty and not session.new
        account.language = "en"
        account.guardian_links[0].linked_at = account.guardian_links[0].linked_at
        assert attach(session, Account, {c.key: getattr(account, c.key)
                                         for c in inspect(Account).columns}) is account
    async with db.unit_of_work() as session:
        stored = await session.scalar(select(Account).where(Account.chat_id == "k"))
        assert stored is not None and stored.language == "en"
        links = (await session.scalars(select(AccountGuardian))).all()
        assert [link.guardian_id for link in links] == ["g-koval"]
