"""nostr-sdk (rust-nostr) as an independent implementation for tests and benchmarks.

  sdk_tool.py sign --count N [--kind K] [--created-at T] [--plain] [--key-file F]
                                                           one signed event JSON per line
  sdk_tool.py verify                                         reads event JSON lines, prints ok/bad per line
  sdk_tool.py publish URL [--concurrency C]                  reads event JSON lines, publishes, prints JSON counts
  sdk_tool.py fetch URL FILTER_JSON                          prints JSON {"count", "seconds"}
  sdk_tool.py sync --events FILE --filter JSON --relay URL [--relay URL...] [--then-up URL] [--lmdb DIR] [--split-at T...]
                                                           NIP-77 Client.sync (both directions) from a client
                                                           database holding FILE's events; prints JSON
  sdk_tool.py dm-send --relay URL --sender-key-file F --receiver PUBHEX --count N [--nip04 M] [--seed S]
                      [--created-at T] [--sender-copy] [--out FILE] [--auth]
                                                           N NIP-17 messages (gift wraps, kind 1059) and M NIP-04
                                                           messages (kind 4) from the sender to the receiver;
                                                           prints JSON {"sent_gift_wraps", "sent_nip04", "texts",
                                                           "ids", "gift_wrap_ids", "nip04_ids", "sender_copy_ids",
                                                           "pubkey", "refused"}; exit 1 if any refused
  sdk_tool.py dm-read (--relay URL [--auth] | --events FILE|- [--events FILE...]) --receiver-key-file F
                                                           the receiver's kind 1059 and kind 4 (#p), unwrapped and
                                                           decrypted (files: JSON lines or .zst segments); prints
                                                           JSON {"gift_wraps", "nip04", "texts" (sorted), "ids",
                                                           "senders", "undecryptable", "bad_signatures", "ignored",
                                                           "pubkey"; files: "unparsable", "damaged_files"}
  sdk_tool.py relay-list --relay URL [--relay URL...] --key-file F [--dm-relay URL...] [--read URL...]
                         [--write URL...] [--both URL...] [--created-at T] [--auth]
                                                           kind 10050 (DM relays) and/or kind 10002 (NIP-65) signed
                                                           with F's key, published; prints JSON
  sdk_tool.py vanish [--relay URL...] --key-file F --target URL|ALL_RELAYS [--target ...] [--content TEXT]
                     [--created-at T] [--auth]
                                                           a NIP-62 request to vanish (kind 62), published to each
                                                           --relay (none: only printed); prints JSON {"id", "event", ...}
"""
import argparse
import asyncio
import json
import os
import random
import sys
import time
from datetime import timedelta

from nostr_sdk import (Client, ClientBuilder, Event, EventBuilder, Filter, Keys, Kind, PublicKey, ReqTarget, RelayUrl,
                       SignerAuthenticator, Tag, Timestamp, UnwrappedGift, nip04_decrypt, nip04_encrypt,
                       nip17_make_private_msg, nip59_make_gift_wrap, uniffi_set_event_loop)

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


async def connect_as(urls, keys=None):
    """A client on URLS. With KEYS it answers a relay's NIP-42 challenge as that key: nostr-sdk then
    authenticates and sends again what the relay closed or refused with "auth-required"."""
    uniffi_set_event_loop(asyncio.get_running_loop())
    builder = ClientBuilder()
    if keys is not None:
        builder = builder.authenticator(SignerAuthenticator(keys))
    client = builder.build()
    for url in urls:
        await client.add_relay(RelayUrl.parse(url))
    await client.connect(timedelta(seconds=10))
    if keys is not None:
        # nostr-relay sends its challenge as soon as the socket opens and never answers AUTH: two round
        # trips first, so that the client has the challenge, and most likely has answered it, before it
        # publishes (send_each's retry covers the rest).
        for url in urls + urls:
            await client.fetch_events(ReqTarget.single(RelayUrl.parse(url), [Filter.from_json('{"kinds":[0],"limit":1}')]),
                                      timedelta(seconds=5))
    return client


async def send_one(client, event, ok_timeout=5):
    """None once every relay has the event (a duplicate counts as had), else the reasons."""
    try:
        out = await client.send_event(event, ok_timeout=timedelta(seconds=ok_timeout))
    except Exception as ex:
        return str(ex)
    failed = sorted({why for why in out.failed.values() if not why.startswith("duplicate")})
    if failed or not (out.success or out.failed):
        return "; ".join(failed) or "no relay accepted it"
    return None


async def send_each(client, events, retry=False):
    """Publishes the events one at a time (in order, so a relay's throttle cannot reorder them); returns
    {event id: reason} for each one some relay did not accept. With RETRY, what was refused is sent once
    more: an EVENT that reached nostr-relay before the client's AUTH is refused with an empty id (so it
    ends here as a timeout) although the same EVENT is accepted a moment later."""
    refused = {}
    for e in events:
        why = await send_one(client, e, ok_timeout=2 if retry else 5)
        if why:
            refused[e.id().to_hex()] = why
    if refused and retry:
        again = {}
        for e in events:
            if e.id().to_hex() in refused:
                why = await send_one(client, e)
                if why:
                    again[e.id().to_hex()] = why
        refused = again
    return refused


def finish(report, refused):
    """Prints REPORT; anything refused also goes to stderr and makes the exit status 1."""
    report["refused"] = refused
    print(json.dumps(report))
    sys.stdout.flush()
    if refused:
        sys.stderr.write("refused by the relay: %s\n" % json.dumps(refused))
        sys.exit(1)


async def dm_send(args):
    """NIP-17 private messages and NIP-04 messages from the sender to the receiver, with texts that name
    the seed and the index, so a reader can prove it got every one back. The receiver's gift wraps come
    from nostr-sdk's own nip17_make_private_msg (throwaway author, created_at up to two days back).
    NIP-17 also wraps a copy of each message to the sender; it is made only with --sender-copy (it is
    p-tagged to the sender, so it belongs to the sender's inbox, not the receiver's)."""
    sender = load_keys(args.sender_key_file)
    receiver = PublicKey.parse(args.receiver)
    texts, wraps, copies, dms = [], [], [], []
    for i in range(args.count):
        text = "msg-%d-%d" % (args.seed, i)
        texts.append(text)
        wraps.append(nip17_make_private_msg(sender, receiver, text))
        if args.sender_copy:
            rumor = EventBuilder(Kind(14), text).tags([Tag.parse(["p", receiver.to_hex()])]).finalize_unsigned(
                sender.public_key())
            copies.append(nip59_make_gift_wrap(sender, sender.public_key(), rumor))
    base = args.created_at or int(time.time()) - args.nip04
    for i in range(args.nip04):
        text = "nip04-%d-%d" % (args.seed, i)
        texts.append(text)
        dms.append(EventBuilder(Kind(4), nip04_encrypt(sender.secret_key(), receiver, text))
                   .tags([Tag.parse(["p", receiver.to_hex()])]).custom_created_at(Timestamp.from_secs(base + i))
                   .finalize(sender))
    if args.out:
        with open(args.out, "w") as f:
            f.writelines(e.as_json() + "\n" for e in wraps + dms + copies)
    client = await connect_as([args.relay], sender if args.auth else None)
    refused = await send_each(client, wraps + dms + copies, retry=args.auth)
    await client.shutdown()

    def sent(events):
        return sum(1 for e in events if e.id().to_hex() not in refused)

    finish({"sent_gift_wraps": sent(wraps), "sent_nip04": sent(dms), "texts": texts,
            "ids": [e.id().to_hex() for e in wraps + dms],
            "gift_wrap_ids": [e.id().to_hex() for e in wraps], "nip04_ids": [e.id().to_hex() for e in dms],
            "sender_copy_ids": [e.id().to_hex() for e in copies], "pubkey": sender.public_key().to_hex()},
           refused)


def read_messages(keys, events):
    """The kind 1059 and kind 4 events among EVENTS that are p-tagged to KEYS, unwrapped or decrypted."""
    me = keys.public_key().to_hex()
    report = {"gift_wraps": 0, "nip04": 0, "texts": [], "ids": [], "senders": set(), "undecryptable": 0,
              "bad_signatures": 0, "ignored": 0}
    seen = set()
    for e in events:
        eid = e.id().to_hex()
        if eid in seen:
            continue
        kind = e.kind().as_u16()
        addressed = any(len(t.to_vec()) > 1 and t.to_vec()[0] == "p" and t.to_vec()[1] == me for t in e.tags())
        if kind not in (4, 1059) or not addressed:
            report["ignored"] += 1
            continue
        # Checked before the id counts as seen: a forgery carrying a genuine event's id must not hide it.
        if not e.verify():
            report["bad_signatures"] += 1
            continue
        seen.add(eid)
        try:
            if kind == 1059:
                gift = UnwrappedGift.from_gift_wrap(keys, e)
                text, sender = gift.rumor().content(), gift.sender().to_hex()
                report["gift_wraps"] += 1
            else:
                text, sender = nip04_decrypt(keys.secret_key(), e.author(), e.content()), e.author().to_hex()
                report["nip04"] += 1
        except Exception:
            report["undecryptable"] += 1
            continue
        report["texts"].append(text)
        report["ids"].append(eid)
        report["senders"].add(sender)
    report["texts"].sort()
    report["ids"].sort()
    report["senders"] = sorted(report["senders"])
    return report


async def fetch_addressed(client, url, kind, pubkey_hex, max_pages=200):
    """Every event of KIND p-tagged to the pubkey on URL, page by page (LocalRelay sends at most 500 per
    REQ): each page ends at the oldest created_at seen so far (until + 1: nostr-relay's until is
    exclusive, LocalRelay's inclusive; ids already seen are dropped), until a page brings nothing new."""
    found = {}
    until = None
    for _ in range(max_pages):
        spec = {"kinds": [kind], "#p": [pubkey_hex], "limit": 500}
        if until is not None:
            spec["until"] = until
        page = await client.fetch_events(ReqTarget.single(RelayUrl.parse(url), [Filter.from_json(json.dumps(spec))]),
                                         timedelta(seconds=30))
        page = page.to_vec() if hasattr(page, "to_vec") else page
        new = [e for e in page if e.id().to_hex() not in found]
        if not new:
            break
        for e in new:
            found[e.id().to_hex()] = e
        until = min(e.created_at().as_secs() for e in page) + 1
    return list(found.values())


def event_lines(path):
    """The non-empty lines of PATH ("-": stdin), decompressed when it is a zstd archive segment
    (.zst or .zst.part); a segment whose end cannot be decompressed (an unsealed .part) gives the lines
    before it. Returns (lines, 1 if the file was cut short else 0)."""
    if path == "-":
        return [line for line in sys.stdin if line.strip()], 0
    if not (path.endswith(".zst") or path.endswith(".zst.part")):
        with open(path) as f:
            return [line for line in f if line.strip()], 0
    from backports import zstd
    with open(path, "rb") as f:
        rest = f.read()
    data, damaged = bytearray(), 0
    while rest:
        # Frame by frame, so that a cut or damaged frame costs only itself and what follows.
        d = zstd.ZstdDecompressor()
        try:
            data += d.decompress(rest)
        except zstd.ZstdError:
            damaged = 1
            break
        if not d.eof:
            damaged = 1
            break
        rest = d.unused_data
    text = data.decode("utf-8", "replace").split("\n")
    if damaged and text:
        text.pop()  # the last line may be cut short
    return [line for line in text if line.strip()], damaged


async def dm_read(args):
    """The receiver's messages: from a relay (as a client that authenticates as the receiver with --auth),
    or from event JSON lines (--events FILE, "-" for stdin), e.g. an archive or a restored relay's dump."""
    # Not load_keys: a fresh key here would read nothing and hide a wrong path.
    if not os.path.exists(args.receiver_key_file):
        sys.exit("dm-read: no key file %s" % args.receiver_key_file)
    keys = load_keys(args.receiver_key_file)
    if args.events:
        events, unparsable, damaged = [], 0, 0
        for path in args.events:
            lines, damaged_file = event_lines(path)
            damaged += damaged_file
            for line in lines:
                try:
                    events.append(Event.from_json(line))
                except Exception:
                    unparsable += 1
        report = read_messages(keys, events)
        report["unparsable"] = unparsable
        report["damaged_files"] = damaged
    else:
        client = await connect_as([args.relay], keys if args.auth else None)
        me = keys.public_key().to_hex()
        events = await fetch_addressed(client, args.relay, 1059, me) + await fetch_addressed(client, args.relay, 4, me)
        await client.shutdown()
        report = read_messages(keys, events)
    report["pubkey"] = keys.public_key().to_hex()
    print(json.dumps(report))


async def relay_list(args):
    """A key's kind 10050 (NIP-17 DM relays: ["relay", URL]) and kind 10002 (NIP-65: ["r", URL] with
    "read" or "write", or neither for both), published to every --relay."""
    keys = load_keys(args.key_file)
    at = Timestamp.from_secs(args.created_at) if args.created_at else None
    events = {}
    if args.dm_relay:
        events["dm_relay_list"] = EventBuilder(Kind(10050), "").tags([Tag.parse(["relay", u]) for u in args.dm_relay])
    nip65 = ([["r", u, "read"] for u in args.read or []] + [["r", u, "write"] for u in args.write or []]
             + [["r", u] for u in args.both or []])
    if nip65:
        events["relay_list"] = EventBuilder(Kind(10002), "").tags([Tag.parse(t) for t in nip65])
    if not events:
        sys.exit("relay-list: nothing to publish: give --dm-relay, --read, --write or --both")
    signed = {}
    for name, builder in events.items():
        signed[name] = (builder.custom_created_at(at) if at else builder).finalize(keys)
    client = await connect_as(args.relay, keys if args.auth else None)
    refused = await send_each(client, list(signed.values()), retry=args.auth)
    await client.shutdown()
    report = {"pubkey": keys.public_key().to_hex()}
    for name in ("dm_relay_list", "relay_list"):
        report[name] = signed[name].id().to_hex() if name in signed else None
    report["events"] = [e.as_json() for e in signed.values()]
    finish(report, refused)


async def vanish(args):
    """A NIP-62 request to vanish: kind 62 with one ["relay", URL] tag per --target (ALL_RELAYS for every
    relay), signed with the key in the file and published to each --relay (NIP-62 says: to the target
    relays only; with no --relay it is only printed)."""
    keys = load_keys(args.key_file)
    builder = EventBuilder(Kind(62), args.content).tags([Tag.parse(["relay", t]) for t in args.target])
    if args.created_at:
        builder = builder.custom_created_at(Timestamp.from_secs(args.created_at))
    event = builder.finalize(keys)
    refused = {}
    if args.relay:
        client = await connect_as(args.relay, keys if args.auth else None)
        refused = await send_each(client, [event], retry=args.auth)
        await client.shutdown()
    finish({"id": event.id().to_hex(), "pubkey": keys.public_key().to_hex(), "event": event.as_json(),
            "published": bool(args.relay) and not refused}, refused)


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
p = sub.add_parser("dm-send")
p.add_argument("--relay", required=True)
p.add_argument("--sender-key-file", required=True, help="the sender's key (created with a fresh key if missing)")
p.add_argument("--receiver", required=True, help="the receiver's public key, hex")
p.add_argument("--count", type=int, default=1, help="NIP-17 messages (gift wraps)")
p.add_argument("--nip04", type=int, default=0, help="NIP-04 messages (kind 4)")
p.add_argument("--seed", type=int, default=1, help="texts are msg-SEED-I and nip04-SEED-I")
p.add_argument("--created-at", type=int, help="the first NIP-04 message's created_at (the next ones count up)")
p.add_argument("--sender-copy", action="store_true", help="also publish NIP-17's copy wrapped to the sender")
p.add_argument("--out", help="also write the events (before publishing) here as JSON lines")
p.add_argument("--auth", action="store_true", help="answer NIP-42 challenges as the sender")
p = sub.add_parser("dm-read")
source = p.add_mutually_exclusive_group(required=True)
source.add_argument("--relay")
source.add_argument("--events", action="append",
                    help="event JSON lines instead of a relay (repeatable; .zst segments too; - for stdin)")
p.add_argument("--receiver-key-file", required=True)
p.add_argument("--auth", action="store_true", help="answer NIP-42 challenges as the receiver")
p = sub.add_parser("relay-list")
p.add_argument("--relay", action="append", required=True, help="where to publish (repeatable)")
p.add_argument("--key-file", required=True, help="the key (created with a fresh key if missing)")
p.add_argument("--dm-relay", action="append", help="kind 10050 relay tag (repeatable)")
p.add_argument("--read", action="append", help="kind 10002 r tag marked read (repeatable)")
p.add_argument("--write", action="append", help="kind 10002 r tag marked write (repeatable)")
p.add_argument("--both", action="append", help="kind 10002 r tag with no marker (repeatable)")
p.add_argument("--created-at", type=int)
p.add_argument("--auth", action="store_true", help="answer NIP-42 challenges as the key")
p = sub.add_parser("vanish")
p.add_argument("--relay", action="append", help="where to publish (repeatable; none: print only)")
p.add_argument("--key-file", required=True, help="the key (created with a fresh key if missing)")
p.add_argument("--target", action="append", required=True, help="a relay URL, or ALL_RELAYS (repeatable)")
p.add_argument("--content", default="", help="the reason")
p.add_argument("--created-at", type=int)
p.add_argument("--auth", action="store_true", help="answer NIP-42 challenges as the key")
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
elif args.cmd in ("dm-send", "dm-read", "relay-list", "vanish"):
    status = 0
    try:
        asyncio.run({"dm-send": dm_send, "dm-read": dm_read, "relay-list": relay_list, "vanish": vanish}[args.cmd](args))
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else 1
        if not isinstance(e.code, int) and e.code is not None:
            sys.stderr.write("%s\n" % e.code)
    sys.stdout.flush()
    sys.stderr.flush()
    # With an authenticator the client's threads can still be running Python callbacks: leave without
    # tearing the interpreter down under them (that crashed with SIGSEGV now and then).
    os._exit(status)
else:
    asyncio.run(fetch(args))
