"""nostr-sdk (rust-nostr) as an independent implementation for tests and benchmarks.

  sdk_tool.py sign --count N [--kind K] [--created-at T] [--plain] [--key-file F]
                                                           one signed event JSON per line
  sdk_tool.py verify                                         reads event JSON lines, prints ok/bad per line
  sdk_tool.py publish URL [--concurrency C]                  reads event JSON lines, publishes, prints JSON counts
  sdk_tool.py fetch URL FILTER_JSON                          prints JSON {"count", "seconds"}
"""
import argparse
import asyncio
import json
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
args = parser.parse_args()
if args.cmd == "sign":
    sign(args)
elif args.cmd == "verify":
    verify(args)
elif args.cmd == "publish":
    asyncio.run(publish(args))
else:
    asyncio.run(fetch(args))
