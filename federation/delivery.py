"""The delivery worker: claims due rows with a lease, signs each try fresh, POSTs, and records
delivered / retry at / gave up. Rows are the queue, so a restart resumes where it stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from federation import backoff
from federation.client import FederationClient, PostResult
from node.clock import Clock, iso, parse_iso
from node.config import FederationConfig
from node.store import deliveries as delivery_store
from node.store import remote_actors as actor_store
from node.store.db import Database, Tx
from node.store.deliveries import Claimed
from node.workers import Changes

log = logging.getLogger("hearth.delivery")

IDLE_POLL = 5.0  # seconds between looks at the queue when nothing wakes the worker
LEASE_MARGIN = timedelta(seconds=60)
# How often paused domains are looked at; each is tried again once per domain_pause_hours.
PROBE_EVERY_SECONDS = 3600.0
BLOCKED = "domain blocked"  # why a delivery queued before its domain was blocked is dead
WAITING = "waiting for the host (Retry-After, or no answer)"  # why one was put back untried
# A host that keeps answering is written up (domains.last_success_at) this often, not at every
# answer: while it stays up, its row says so already. A failure is always written.
UP_REWRITE = timedelta(minutes=10)
UP_HOSTS_KEPT = 10_000  # hosts remembered as written up, before the old ones are forgotten
UP_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Outcome:
    item: Claimed
    result: PostResult | None  # None: not tried, as its host had asked for a wait or not answered


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        client: FederationClient,
        clock: Clock,
        config: FederationConfig,
        is_blocked: Callable[[str], bool],
        rand: Callable[[], float] = random.random,
        paused_changes: Changes | None = None,
        key_changes: Changes | None = None,
    ) -> None:
        self._db = db
        self._client = client
        self._clock = clock
        self._config = config
        self._is_blocked = is_blocked
        self._rand = rand
        self._wake = asyncio.Event()
        self._done: list[Outcome] = []
        self._inflight: dict[str, int] = {}  # host -> requests claimed and not yet finished
        self._limits: dict[str, asyncio.Semaphore] = {}  # host -> at most delivery_per_host
        self._slots = asyncio.Semaphore(config.delivery_workers)  # requests at once, all hosts
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        self._paused: set[str] = set()
        # Hosts that answered 429 or 503 with a Retry-After, or did not answer: nothing goes to
        # them until then (backoff.host_wait).
        self._waits: dict[str, datetime] = {}
        self._written_up: dict[str, datetime] = {}  # host -> when it was last written up
        # Marked by any process of the pod that pauses or resumes a host: the others then read
        # the paused hosts again before they next decide whether a host that spoke was paused.
        self._paused_changes = paused_changes or Changes()
        self._paused_mark = self._paused_changes.mark
        self._key_changes = key_changes  # the actors' keys cached by every process (see below)
        # Claimed here and not yet recorded: never claimed again meanwhile, even once their
        # lease has run out waiting for their host's turn. Only a restart forgets them.
        self._held: set[str] = set()
        # The background loop and a test's run_once() must not interleave a claim with the
        # starting of what was claimed.
        self._cycle = asyncio.Lock()
        # In a process of the pod other than its sender: where wakes go (see node/workers.py).
        self._forward: Callable[[], None] | None = None

    def wake(self) -> None:
        if self._forward is not None:
            self._forward()
        else:
            self._wake.set()

    # --- lifecycle ---

    async def start(self) -> None:
        self._stopping = False
        self._paused = await delivery_store.paused_hosts(self._db)
        # Cut short by a stop or a crash: sent again now rather than once their lease ends.
        # The pod is the database's one sender (the command line queues, never sends).
        async with self._db.transaction() as tx:
            await delivery_store.release_leases(tx, iso(self._clock.now()))
        self._runner = asyncio.create_task(self._run(), name="delivery-worker")

    async def follow(self, forward: Callable[[], None]) -> None:
        """Start in a process of the pod that does not send: what is queued here is sent by
        the sender, told through `forward`."""
        self._forward = forward
        self._paused = await delivery_store.paused_hosts(self._db)

    async def heard_from(self, host: str) -> None:
        """A host spoke to us: if its deliveries were paused, resume them now.

        Paused hosts are kept in memory too, so the inbox's hot path asks no query; they are
        read again only when a process of the pod has paused or resumed one since.
        """
        mark = self._paused_changes.mark
        if mark != self._paused_mark:
            self._paused_mark = mark  # first: a change while reading is seen next time
            self._paused = await delivery_store.paused_hosts(self._db)
        if host not in self._paused:
            return
        async with self._db.transaction() as tx:
            await delivery_store.resume_host(tx, host, iso(self._clock.now()))
        self._paused.discard(host)
        self._paused_changes.changed()
        self.wake()

    async def probe_paused(self) -> list[str]:
        """Give each domain paused for `domain_pause_hours` one more try (a failure pauses it
        again): one whose people never write to us would not be heard from, and stay paused
        for ever. The hosts tried again."""
        now = self._clock.now()
        before = iso(now - timedelta(hours=self._config.domain_pause_hours))
        async with self._db.transaction() as tx:
            hosts = await delivery_store.probe_paused(tx, before, iso(now))
        if hosts:
            self._paused.difference_update(hosts)
            self._paused_changes.changed()
            log.info("trying paused domains again: %s", ", ".join(sorted(hosts)))
            self.wake()
        return hosts

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Requests cut short stay 'running': claimed again once their lease ends, or at start.
        async with self._cycle:
            await self._step(claim=False)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.run_once(wait=False)
                await self._sleep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery cycle failed")
                await asyncio.sleep(1.0)

    async def _sleep(self) -> None:
        timeout = IDLE_POLL
        if not self._tasks:
            due = await delivery_store.next_due(self._db)
            if due is not None:
                timeout = max(
                    0.0, min(IDLE_POLL, (parse_iso(due) - self._clock.now()).total_seconds())
                )
        else:
            timeout = 0.05  # results to record soon
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()

    # --- one cycle ---

    async def run_once(self, wait: bool = True) -> int:
        """Record finished tries, claim what is due and start it; with `wait`, until all done.

        Returns the number of deliveries started. Tests call this to drive the queue.
        """
        async with self._cycle:
            started = await self._step()
        if wait:
            total = started
            while self._tasks:
                await asyncio.wait(set(self._tasks))
                async with self._cycle:
                    total += await self._step()
            async with self._cycle:
                await self._step(claim=False)
            return total
        return started

    async def _step(self, claim: bool = True) -> int:
        """Record the finished tries and claim what is due, in one transaction (one BEGIN and
        COMMIT of the shared writer for both), then start what was claimed. How many started."""
        done, self._done = self._done, []
        # Claimed ahead, up to twice the slots, so that a claim (a transaction) feeds many
        # tries; what waits for its host's turn does not count, so a slow host's backlog never
        # keeps other hosts' deliveries from being claimed.
        workers, startable = self._config.delivery_workers, self._startable()
        room = 2 * workers - startable if claim and startable < workers else 0
        if not done and room <= 0:
            return 0
        now = self._clock.now()
        claimed: list[Claimed] = []
        blocked: list[Claimed] = []
        up: list[str] = []
        try:
            async with self._db.transaction() as tx:
                paused, gone, up = await self._record(tx, done, now) if done else (False, [], [])
                if room > 0:
                    claimed, blocked = await self._claim(tx, room, now)
        finally:
            # Recorded, or (reading the results or writing them failed) left to their lease,
            # as after a crash: claimed again once it runs out, not held here for ever.
            self._held.difference_update(o.item.guid for o in done)
        # Only once committed: a host remembered as written up is not written again for a
        # while, so a rolled back write would leave it failing (and soon paused) though up.
        self._written_up.update(dict.fromkeys(up, now))
        if len(self._written_up) > UP_HOSTS_KEPT:
            self._written_up = {h: t for h, t in self._written_up.items() if t > now - UP_REWRITE}
        if paused:
            self._paused_changes.changed()  # committed: the other processes read it again
        if gone and self._key_changes is not None:
            # An actor whose inbox said 410 is gone: no process trusts its cached key now
            # (federation/actors.py fetches a gone actor's key again).
            self._key_changes.changed()
        for item in blocked:
            log.info("gave up delivering to %s: %s", item.inbox, BLOCKED)
        self._held.update(i.guid for i in claimed)
        queued: dict[str, list[Claimed]] = {}
        for item in claimed:
            queued.setdefault(item.host, []).append(item)
        for host, items in queued.items():
            task = asyncio.create_task(self._deliver_host(host, items))
            self._tasks.add(task)
            task.add_done_callback(self._task_done)
        return len(claimed)

    def _startable(self) -> int:
        """Claimed tries not yet finished that may run now, as far as their hosts' limits go."""
        per_host = self._config.delivery_per_host
        return sum(min(n, per_host) for n in self._inflight.values())

    async def _claim(
        self, tx: Tx, limit: int, now: datetime
    ) -> tuple[list[Claimed], list[Claimed]]:
        """(claimed to be sent, given up as their domain is blocked)."""
        full = [h for h, n in self._inflight.items() if n >= self._config.delivery_per_host]
        lease = now + timedelta(seconds=self._config.delivery_timeout_seconds) + LEASE_MARGIN
        claimed = await delivery_store.claim(tx, iso(now), iso(lease), limit, full, self._held)
        # Queued before its domain was blocked: given up, never sent.
        blocked = [i for i in claimed if self._is_blocked(i.inbox)]
        if blocked:
            stamp = iso(now)
            await delivery_store.finish_many(
                tx, [("dead", i.attempts, None, BLOCKED, stamp, stamp, i.guid) for i in blocked]
            )
            claimed = [i for i in claimed if i not in blocked]
        return claimed, blocked

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        # A cycle (a transaction) per finished host would cost more than the tries it records:
        # while enough claimed requests remain to keep every slot busy, the next timed cycle
        # (below) records and claims for several at once.
        if self._startable() < self._config.delivery_workers:
            self._wake.set()

    async def _deliver_host(self, host: str, items: list[Claimed]) -> None:
        """Deliver one host's share, at most `delivery_per_host` at a time."""
        limit = self._limits.setdefault(host, asyncio.Semaphore(self._config.delivery_per_host))
        self._inflight[host] = self._inflight.get(host, 0) + len(items)

        async def one(item: Claimed) -> None:
            result: PostResult | None = None
            try:
                # The host's limit first: waiting for its turn holds none of the shared slots.
                async with limit:
                    if not self._waiting(host):
                        async with self._slots:
                            result = await self._client.post(
                                item.inbox,
                                item.body.encode(),
                                item.actor_uri,
                                self._config.delivery_timeout_seconds,
                            )
                        self._note_wait(host, result)
            except BaseException:
                # Cut short (stop()): left 'running', claimed again once its lease runs out.
                self._held.discard(item.guid)
                raise
            finally:
                self._inflight[host] -= 1
            self._done.append(Outcome(item, result))

        try:
            await asyncio.gather(*(one(i) for i in items))
        finally:
            if self._inflight.get(host, 0) <= 0:
                self._inflight.pop(host, None)
                self._limits.pop(host, None)

    def _waiting(self, host: str) -> bool:
        until = self._waits.get(host)
        return until is not None and self._clock.now() < until

    def _note_wait(self, host: str, result: PostResult) -> None:
        until = backoff.host_wait(result.status, result.retry_after, self._clock.now())
        if until is not None:
            self._waits[host] = max(until, self._waits.get(host, until))

    async def _record(
        self, tx: Tx, done: list[Outcome], now: datetime
    ) -> tuple[bool, list[str], list[str]]:
        """Write what the tries in `done` came to; (a host was paused, inboxes gone, hosts
        written up)."""
        stamp = iso(now)
        pause_before = iso(now - timedelta(hours=self._config.domain_pause_hours))
        finished: list[tuple[str, int, int | None, str | None, str, str, str]] = []
        reached: set[str] = set()
        failing: set[str] = set()
        gone: list[str] = []
        for outcome in done:
            item, result = outcome.item, outcome.result
            if result is None:
                later = iso(max(self._waits.get(item.host, now), now))
                finished.append(("pending", item.attempts, None, WAITING, later, stamp, item.guid))
                continue
            attempts = item.attempts + 1
            decision = backoff.decide(attempts, result.status, result.retry_after, now, self._rand)
            if result.status is not None and result.status < 500:
                # It answered (a refusal or "slow down" too): up, whatever failed before.
                reached.add(item.host)
            if isinstance(decision, backoff.Delivered):
                finished.append(
                    ("delivered", attempts, result.status, None, stamp, stamp, item.guid)
                )
            elif isinstance(decision, backoff.GiveUp):
                finished.append(
                    ("dead", attempts, result.status, decision.reason, stamp, stamp, item.guid)
                )
                if decision.gone:
                    gone.append(item.inbox)
                log.info("gave up delivering to %s: %s", item.inbox, decision.reason)
            else:
                error = result.error or f"HTTP {result.status}"
                next_at = iso(decision.at)
                finished.append(
                    ("pending", attempts, result.status, error, next_at, stamp, item.guid)
                )
                if result.status is None or result.status >= 500:
                    failing.add(item.host)
        # Whatever else is queued for a host that asked for a wait waits as long.
        self._waits = {h: t for h, t in self._waits.items() if t > now}
        waits = {o.item.host: self._waits[o.item.host] for o in done if o.item.host in self._waits}
        paused = False
        # One statement per kind of change, not per delivery: the writer is shared.
        await delivery_store.finish_many(tx, finished)
        for host, until in waits.items():
            await delivery_store.hold_host(tx, host, iso(until), stamp)
        for inbox in gone:
            await actor_store.mark_gone(tx, inbox, stamp)
        up = [h for h in reached if self._written_up.get(h, UP_NEVER) <= now - UP_REWRITE]
        for host in up:
            await delivery_store.host_success(tx, host, stamp)
        for host in failing - reached:
            self._written_up.pop(host, None)
            if await delivery_store.host_failure(tx, host, stamp, pause_before):
                self._paused.add(host)
                paused = True
                log.warning("pausing deliveries to %s: failing since before %s", host, pause_before)
        return paused, gone, up
