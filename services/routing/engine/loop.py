"""The engine's loop: expiries, wrap-ups, callbacks, lost streams, then matching, driven by
wake-ups (a task arrives, an agent frees capacity) and the next deadline, with a periodic
sweep as the safety net. Every step takes ``now``, so tests drive time by calling
``run_once``."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.routing.engine import catalog as catalogs
from services.routing.engine import intake, matcher, offers
from services.routing.engine.snapshots import stream_connected
from services.routing.engine.translation_check import TranslationCheck, catalog_as_applied
from services.routing.models import Agent, AgentEvent, Callback, Reservation, Task
from services.routing.settings import RoutingSettings
from shared.db import session_scope, utc_now
from shared.logging import get_logger

log = get_logger(__name__)
_PRUNE_EVERY = timedelta(minutes=1)


async def away_lost_streams(
    session: AsyncSession, *, now: datetime, grace: timedelta, stale_after: timedelta
) -> list[uuid.UUID]:
    """Set away the available agents whose stream has been gone longer than the grace."""
    # Read without locks first: locking every available agent here would make the matchers
    # of other replicas skip them all.
    stmt = select(Agent).where(Agent.status == "available", Agent.stream_seen_at.is_not(None))
    lost = []
    for agent in await session.scalars(stmt):
        if stream_connected(agent, now=now, stale_after=stale_after):
            continue
        assert agent.stream_seen_at is not None
        dropped = agent.stream_dropped_at
        gone_since = dropped if dropped and dropped >= agent.stream_seen_at else None
        gone_since = gone_since or agent.stream_seen_at + stale_after
        if now - gone_since >= grace:
            lost.append(agent.id)
    for agent in (await offers.lock_agents(session, lost)).values():
        # Re-checked under the lock: the stream may have come back meanwhile.
        if agent.status == "available" and not stream_connected(
            agent, now=now, stale_after=stale_after
        ):
            await offers.set_agent_status(
                session, agent_id=agent.id, status="away", reason="stream_lost", now=now
            )
    return lost


async def next_deadline(session: AsyncSession) -> datetime | None:
    """The earliest offer expiry, wrap-up end or callback due time, if any (one query)."""
    stmt = select(
        select(func.min(Reservation.expires_at))
        .where(Reservation.state == "pending")
        .scalar_subquery(),
        select(func.min(Agent.wrap_up_until)).where(Agent.status == "wrap_up").scalar_subquery(),
        select(func.min(Callback.due_at)).where(Callback.state == "scheduled").scalar_subquery(),
    )
    candidates = (await session.execute(stmt)).one()
    present = [moment for moment in candidates if moment is not None]
    return min(present) if present else None


@dataclass(frozen=True, slots=True)
class SweepDue:
    """What the sweeps have to look at: the earliest offer expiry, wrap-up end (of an agent
    or of a task) and callback due time, and whether an available agent has a stream."""

    expiry: datetime | None
    wrap_up: datetime | None
    callback: datetime | None
    streams: bool

    def first(self) -> datetime | None:
        """The earliest of the deadlines, if any."""
        present = [m for m in (self.expiry, self.wrap_up, self.callback) if m is not None]
        return min(present) if present else None


async def sweep_due(session: AsyncSession) -> SweepDue:
    """Read in one query what ``run_once``'s sweeps would find, so that an idle sweep costs
    one round trip rather than a transaction per step."""
    stmt = select(
        select(func.min(Reservation.expires_at))
        .where(Reservation.state == "pending")
        .scalar_subquery(),
        select(func.min(Agent.wrap_up_until)).where(Agent.status == "wrap_up").scalar_subquery(),
        select(func.min(Task.wrap_up_until)).where(Task.state == "wrap_up").scalar_subquery(),
        select(func.min(Callback.due_at)).where(Callback.state == "scheduled").scalar_subquery(),
        exists().where(Agent.status == "available", Agent.stream_seen_at.is_not(None)),
    )
    expiry, agent_wrap_up, task_wrap_up, callback, streams = (await session.execute(stmt)).one()
    wrap_ups = [m for m in (agent_wrap_up, task_wrap_up) if m is not None]
    return SweepDue(
        expiry=expiry,
        wrap_up=min(wrap_ups) if wrap_ups else None,
        callback=callback,
        streams=bool(streams),
    )


class RoutingEngine:
    """Runs the routing passes for one process; several processes may run side by side."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: RoutingSettings,
        translation: TranslationCheck | None = None,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        # Without a way to ask, machine translation counts as off.
        self.translation = translation or TranslationCheck(None, ttl=0)
        self._held_back: tuple[catalogs.Catalog, catalogs.Catalog] | None = None
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._pruned_at: datetime | None = None
        self._planned: datetime | None = None
        self._forget_queues = False

    def wake(self) -> None:
        """Ask for a pass now rather than at the next deadline."""
        self._wakeup.set()

    def plan(self, moment: datetime) -> None:
        """Run the sweeps no later than ``moment`` (a wrap-up ends then)."""
        if self._planned is None or moment < self._planned:
            self._planned = moment
        self._wakeup.set()

    def forget_queues(self) -> None:
        """Reread the queues at the next pass (they changed)."""
        self._forget_queues = True

    async def _recent_catalog(
        self, session: AsyncSession, *, machine_translation: bool
    ) -> catalogs.Catalog:
        if self._forget_queues:
            self._forget_queues = False
            catalogs.forget(session.get_bind())
        catalog = await catalogs.recent_catalog(session)
        if machine_translation:
            return catalog
        # The same copy of the catalog serves many passes: held back once for all of them.
        if self._held_back is None or self._held_back[0] is not catalog:
            self._held_back = (catalog, catalog_as_applied(catalog, machine_translation=False))
        return self._held_back[1]

    def stop(self) -> None:
        """Let ``run()`` return after the pass under way."""
        self._stopping = True
        self._wakeup.set()

    async def run(self) -> None:
        """Pass after pass until stopped; a failing database only delays routing.

        A wake-up (a task arrived, capacity freed) runs a matching pass; the sweeps (expiries,
        wrap-ups, callbacks, lost streams) run at their next deadline or every
        ``sweep_seconds``. A wake-up while idle waits the debounce, so that a burst is
        matched in one pass; wake-ups that come while a pass runs are served together by
        the next pass, which starts at once.
        """
        loop = asyncio.get_running_loop()
        sweep_at = loop.time()
        while not self._stopping:
            self._wakeup.clear()
            if self._planned is not None:
                ahead = (self._planned - utc_now()).total_seconds()
                sweep_at, self._planned = min(sweep_at, loop.time() + ahead), None
            try:
                if loop.time() >= sweep_at:
                    sweep_at = loop.time() + await self.run_once()
                else:
                    sweep_at = min(sweep_at, loop.time() + await self.match_pass())
            except Exception as exc:  # the loop must outlive database outages and conflicts
                log.warning("routing.pass_failed", error=repr(exc))
                sweep_at = loop.time() + self._settings.sweep_seconds
            if self._wakeup.is_set():
                # Woken while the pass ran: what gathered meanwhile is matched at once.
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wakeup.wait(), timeout=max(sweep_at - loop.time(), 0.0)
                )
            if self._wakeup.is_set() and not self._stopping:
                await asyncio.sleep(self._settings.match_debounce_seconds)

    async def run_once(self, now: datetime | None = None) -> float:
        """One full pass; returns the seconds until the next pass is needed.

        With ``now`` every step sees that instant (tests choose the time); without it each
        step reads the clock when it starts, so an offer's expiry runs from when it is made.
        """

        def clock() -> datetime:
            return now if now is not None else utc_now()

        settings = self._settings
        sticky = timedelta(seconds=settings.sticky_seconds)
        stale_after = settings.stream_stale_after
        # Each step in its own transaction: one holding agents' locks (expiries, wrap-ups)
        # must not then wait on a task an accept holds while that accept waits for the agent.
        # A step runs only when the first read shows it has something to do.
        async with self._sessions() as session:
            due = await sweep_due(session)
        ran = False
        if due.expiry is not None and due.expiry <= clock():
            async with session_scope(self._sessions) as session:
                await offers.expire_offers(
                    session, now=clock(), missed_limit=settings.missed_offers_limit
                )
            ran = True
        if due.wrap_up is not None and due.wrap_up <= clock():
            async with session_scope(self._sessions) as session:
                await offers.end_wrap_ups(session, now=clock())
            ran = True
        if due.callback is not None and due.callback <= clock():
            async with session_scope(self._sessions) as session:
                await intake.release_callbacks(session, now=clock(), sticky=sticky)
            ran = True
        if due.streams:
            async with session_scope(self._sessions) as session:
                await away_lost_streams(
                    session,
                    now=clock(),
                    grace=timedelta(seconds=settings.stream_grace_seconds),
                    stale_after=stale_after,
                )
        deadline = due.first()
        if ran:
            # The offers matched below are in match_pass's delay.
            async with self._sessions() as session:
                deadline = await next_deadline(session)
        self.forget_queues()
        delay = await self.match_pass(now)
        finished = clock()
        await self._prune(finished)
        if deadline is not None:
            delay = min(delay, (deadline - finished).total_seconds())
        return max(delay, settings.contention_retry_seconds)

    async def match_pass(self, now: datetime | None = None) -> float:
        """Match until no offer is left to make; returns the seconds until a sweep is due
        for what this pass knows (widening steps, the offers it made)."""

        def clock() -> datetime:
            return now if now is not None else utc_now()

        settings = self._settings
        result = matcher.MatchResult()
        expiry: datetime | None = None
        # Asked before the pass's transaction opens: other_language steps apply only while
        # machine translation is on.
        machine_translation = await self.translation.available()
        while True:
            async with session_scope(self._sessions) as session:
                result = await matcher.match_once(
                    session,
                    now=clock(),
                    batch_size=settings.match_batch_size,
                    stale_after=settings.stream_stale_after,
                    reoffer_after=timedelta(seconds=settings.reoffer_declined_after_seconds),
                    catalog=await self._recent_catalog(
                        session, machine_translation=machine_translation
                    ),
                )
            if result.next_expiry is not None and (expiry is None or result.next_expiry < expiry):
                expiry = result.next_expiry
            if not (result.offers and result.more):
                # Another pass could only find what this one left: nothing, unless a queue
                # had more waiting tasks than one pass examines.
                break
        delay = settings.sweep_seconds
        if result.contended:
            delay = min(delay, settings.contention_retry_seconds)
        if result.next_due is not None:
            delay = min(delay, result.next_due.total_seconds())
        if expiry is not None:
            delay = min(delay, (expiry - clock()).total_seconds())
        return max(delay, settings.contention_retry_seconds)

    async def _prune(self, now: datetime) -> None:
        if self._pruned_at is not None and now - self._pruned_at < _PRUNE_EVERY:
            return
        self._pruned_at = now
        cutoff = now - timedelta(seconds=self._settings.agent_event_retention_seconds)
        async with session_scope(self._sessions) as session:
            await session.execute(delete(AgentEvent).where(AgentEvent.created_at < cutoff))
