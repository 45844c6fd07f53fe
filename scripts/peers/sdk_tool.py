"""nostr-sdk (rust-nostr) as an independent implementation for tests and benchmarks.

  sdk_tool.py sign --count N [--kind K] [--created-at T] [--plain] [--key-file F]
                                                           one signed event JSON per line
  sdk_tool.py verify                                         reads event JSON lines, prints ok/bad per line
  sdk_tool.py publish URL [--concurrency C]                  reads event JSON lines, publishes, prints JSON counts
  sdk_tool.py fetch URL FILTER_JSON                          prints JSON {"count", "seconds"}
  sdk_tool.py sync --events FILE --filter JSON --relay URL [--relay URL...] [--then-up URL] [--lmdb DIR] [--split-at T...]
                                                           NIP-77 Client.sync (both directions) from a client
                                                           database holding FILE's events; prints JSON
"""
import argparse
import asyncio
import json
import os
import random
import sys
import time
from datetime import timedelta

from nostr_sdk import (Client, Event, EventBuilder, Filter, Keys, Kind, ReqTarget, RelayUrl, Tag, Timestamp,
                       uniffi_set_event_loop)

WORDS = ("nostr relay backup zap note follow key signal archive mirror tag thread reply event "
         "ünïcödé 日本語 émoji 🚀 مرحبا \"quoted\" back\\slash tab\t").split(" ")


def load_keys(path):
    """The key in PATH, or a fresh one written there (so a later run signs as the same author)."""
    if path is None:
        return Keys.generate()
    try:
        with open(path) as f:
            return Keys.parse(f.read().strip())
    except FileNotFoundError:
        keys = Keys.generate()
        with open(path, "w") as f:
            f.write(keys.secret_key().to_hex())
        return keys


def sign(args):
    keys = load_keys(args.key_file)
    rng = random.Random(args.seed)
    # nostr-relay 1.14 refuses content holding control characters, so --plain leaves the tab out.
    words = [w for w in WORDS if not (args.plain and "\t" in w)]
    base = args.created_at or int(time.time()) - args.count
    for i in range(args.count):
        content = " ".join(rng.choice(words) for _ in range(rng.randint(5, 60)))
        tags = [Tag.parse(["t", rng.choice(words[:12])])]
        if i % 3 == 0:
            tags.append(Tag.parse(["p", keys.public_key().to_hex()]))
        builder = EventBuilder(Kind(args.kind), content).tags(tags).custom_created_at(Timestamp.from_secs(base + i))
        print(builder.sign_with_keys(keys).as_json() if hasattr(builder, "sign_with_keys") else builder.finalize(keys).as_json())


def verify(_args):
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            print("ok" if Event.from_json(line).verify() else "bad")
        except Exception:
            print("bad")


async def connect(url):
    uniffi_set_event_loop(asyncio.get_running_loop())
    client = Client()
    await client.add_relay(RelayUrl.parse(url))
    await client.connect()
    await asyncio.sleep(0.3)
    return client


async def publish(args):
    events = [Event.from_json(l) for l in sys.stdin if l.strip()]
    client = await connect(args.url)
    accepted = 0
    failed = {}
    sem = asyncio.Semaphore(args.concurrency)

    async def one(e):
        nonlocal accepted
        async with sem:
            try:
                out = await client.send_event(e)
                if out.success:
                    accepted += 1
                else:
                    for _, why in out.failed.items():
                        failed[why] = failed.get(why, 0) + 1
            except Exception as ex:
                failed[str(ex)] = failed.get(str(ex), 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(one(e) for e in events))
    seconds = time.perf_counter() - start
    print(json.dumps({"accepted": accepted, "failed": failed, "seconds": seconds}))
    await client.shutdown()


async def fetch(args):
    client = await connect(args.url)
    start = time.perf_counter()
    events = await client.fetch_events(ReqTarget.single(RelayUrl.parse(args.url), [Filter.from_json(args.filter)]),
                                       timedelta(seconds=120))
    seconds = time.perf_counter() - start
    print(json.dumps({"count": len(events.to_vec()) if hasattr(events, "to_vec") else len(events), "seconds": seconds}))
    await client.shutdown()


def _loopback_bytes():
    """Bytes through the loopback interface so far (received, sent): what went between the client and
    the relays on 127.0.0.1, TCP/IP headers included, plus anything else this machine sent over loopback."""
    try:
        with open("/proc/net/dev") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name.strip() == "lo":
                    fields = rest.split()
                    return int(fields[0]), int(fields[8])
    except (OSError, ValueError, IndexError):
        pass
    return 0, 0


def _sync_report(out, seconds, lo_before, lo_after):
    """One Client.sync call's outcome, counted per relay."""
    report = out.report

    def per_relay(mapping):
        counts = {}
        for relays in mapping.values():
            for url in relays:
                counts[str(url)] = counts.get(str(url), 0) + 1
        return counts

    return {
        "seconds": seconds,
        "success": sorted(str(u) for u in out.success),
        "failed": {str(u): str(why) for u, why in out.failed.items()},
        "local_only": len(report.local),
        "remote_only": per_relay(report.remote),
        "sent": per_relay(report.sent),
        "received": per_relay(report.received),
        "send_failures": {str(u): len(items) for u, items in report.send_failures.items()},
        "loopback_bytes": lo_after[1] - lo_before[1],
    }


async def sync(args):
    """Client.sync as a backup tool would use it: the client's database (nostr-sdk's LMDB store with
    --lmdb DIR, else scripts/peers/memory_store.py in memory) starts with FILE's events; one sync in both
    directions with every relay, then, with --then-up, one upward sync to that relay so it also gets what
    the first one downloaded."""
    import resource
    from nostr_sdk import ClientBuilder, NostrLmdb, SyncDirection, SyncOptions
    uniffi_set_event_loop(asyncio.get_running_loop())
    if args.lmdb:
        store = await NostrLmdb.open(args.lmdb)
    else:
        from memory_store import MemoryStore, run_inline
        run_inline()
        store = MemoryStore()
    start = time.perf_counter()
    with open(args.events) as f:
        events = [Event.from_json(line) for line in f if line.strip()]
    saved = 0
    # LMDB batches concurrent writes; one at a time it stores a few hundred events/s.
    for first in range(0, len(events), 2000):
        results = await asyncio.gather(*(store.save_event(e) for e in events[first:first + 2000]))
        saved += sum(1 for r in results if r is not None and r.is_success())
    del events
    seed_seconds = time.perf_counter() - start
    client = ClientBuilder().database(store).build()
    for url in args.relay:
        await client.add_relay(RelayUrl.parse(url))
    await client.connect(timedelta(seconds=10))
    await asyncio.sleep(0.3)
    flt = Filter.from_json(args.filter)
    # --split-at T...: one sync per time window ([..T1-1], [T1..T2-1], ..., [Tk..]), one after another,
    # for relays that refuse a NIP-77 session over too many events.
    bounds = [None] + sorted(args.split_at or []) + [None]
    windows = []
    for lower, upper in zip(bounds, bounds[1:]):
        spec = json.loads(args.filter)
        if lower is not None:
            spec["since"] = lower
        if upper is not None:
            spec["until"] = upper - 1
        windows.append(Filter.from_json(json.dumps(spec)))
    suffix = "" if len(windows) == 1 else " (%d windows in turn)" % len(windows)

    async def run_phase(name, **kwargs):
        io = _loopback_bytes()
        t = time.perf_counter()
        reports = []
        for window in windows:
            reports.append(_sync_report(await client.sync(window, **kwargs), 0, (0, 0), (0, 0)))
        merged = {"seconds": time.perf_counter() - t, "name": name + suffix}
        merged["loopback_bytes"] = _loopback_bytes()[1] - io[1]
        merged["success"] = sorted(set().union(*(r["success"] for r in reports)) - set().union(*(r["failed"] for r in reports)))
        merged["failed"] = {u: why for r in reports for u, why in r["failed"].items()}
        merged["local_only"] = sum(r["local_only"] for r in reports)
        for key in ("remote_only", "sent", "received", "send_failures"):
            merged[key] = {}
            for r in reports:
                for u, count in r[key].items():
                    merged[key][u] = merged[key].get(u, 0) + count
        phases.append(merged)

    phases = []
    total = time.perf_counter()
    await run_phase("both directions, every relay", opts=SyncOptions().direction(SyncDirection.BOTH))
    if args.then_up:
        await run_phase("up, " + args.then_up, _with=[RelayUrl.parse(args.then_up)], opts=SyncOptions().direction(SyncDirection.UP))
    total = time.perf_counter() - total
    held = await store.count(flt)
    print(json.dumps({"database": "lmdb" if args.lmdb else "memory", "seeded": saved, "seed_seconds": seed_seconds,
                      "phases": phases, "seconds": total, "held_after": held,
                      "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
    sys.stdout.flush()
    await client.shutdown()


parser = argparse.ArgumentParser()
sub = parser.add_subparsers(dest="cmd", required=True)
p = sub.add_parser("sign")
p.add_argument("--count", type=int, default=1)
p.add_argument("--kind", type=int, default=1)
p.add_argument("--created-at", type=int)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--plain", action="store_true", help="no control characters in content")
p.add_argument("--key-file", help="sign with the key in this file (created with a fresh key if missing)")
sub.add_parser("verify")
p = sub.add_parser("publish")
p.add_argument("url")
p.add_argument("--concurrency", type=int, default=200)
p = sub.add_parser("fetch")
p.add_argument("url")
p.add_argument("filter")
p = sub.add_parser("sync")
p.add_argument("--events", required=True, help="JSON lines: the client database's events before the sync")
p.add_argument("--filter", required=True)
p.add_argument("--relay", action="append", required=True)
p.add_argument("--then-up", help="a relay to sync upward once more after the first sync")
p.add_argument("--lmdb", help="the client database: nostr-sdk's LMDB store in this (new) folder; default in memory")
p.add_argument("--split-at", type=int, action="append", help="sync in time windows split at these created_at values")
args = parser.parse_args()
if args.cmd == "sign":
    sign(args)
elif args.cmd == "verify":
    verify(args)
elif args.cmd == "publish":
    asyncio.run(publish(args))
elif args.cmd == "sync":
    asyncio.run(sync(args))
    # The database's calls run on the client's threads: leave without tearing the interpreter down under them.
    os._exit(0)
else:
    asyncio.run(fetch(args))
