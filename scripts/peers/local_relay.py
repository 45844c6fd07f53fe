"""Runs nostr-sdk's LocalRelay (rust-nostr) on 127.0.0.1:PORT until SIGTERM.

Usage: local_relay.py --port P [--nip42 read|write|both] [--auth-dm] [--lmdb DIR | --unbounded-memory]
The rate limit is lifted so tests and benchmarks measure the relay, not its throttle. Prints
"ready URL" once listening.

--nip42 read: every REQ, COUNT and NEG-OPEN needs NIP-42 AUTH first (as any key: nothing is kept
from other authenticated readers); write: every EVENT; both: both. --auth-dm (nostr-sdk's `auth_dm`):
a filter that could match a gift wrap (kind 1059 among its kinds, or no kinds at all) needs AUTH and a
`#p` naming only the authenticated pubkey; one identity per connection (a later AUTH replaces it).

With --unbounded-memory, SIGUSR1 makes the store forget events behind the relay's back (benchmarks):
the ids are read one per line from CONTROL/memory-store-PID.forget, where CONTROL is
$RELAYSYNC_STORE_CONTROL_DIR, else $TMPDIR, else /tmp; the number forgotten is then written to
CONTROL/memory-store-PID.forget.done.
"""
import argparse
import asyncio
import os
import signal

# The test harness starts this from a thread that blocks signals, and the mask survives exec: unblock
# them before nostr-sdk starts its threads, or SIGTERM never arrives (the harness then waits 5 s and
# sends SIGKILL).
signal.pthread_sigmask(signal.SIG_SETMASK, [])

from memory_store import MemoryStore, run_inline

from nostr_sdk import (LocalRelayBuilder, LocalRelayBuilderNip42, LocalRelayBuilderNip42Mode, NostrLmdb, RateLimit,
                       uniffi_set_event_loop)


def forget_on_request(store):
    """SIGUSR1 with --unbounded-memory: forget the ids listed in the control file (see above)."""
    control = os.environ.get("RELAYSYNC_STORE_CONTROL_DIR") or os.environ.get("TMPDIR") or "/tmp"
    path = os.path.join(control, "memory-store-%d.forget" % os.getpid())
    try:
        with open(path) as f:
            ids = [line.strip() for line in f if line.strip()]
        result = str(store.forget(ids))
    except Exception as e:  # reported to the caller instead of killing the relay
        result = "error: %r" % (e,)
    with open(path + ".done.part", "w") as f:
        f.write(result + "\n")
    os.replace(path + ".done.part", path + ".done")


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--nip42", choices=["read", "write", "both"])
    parser.add_argument("--auth-dm", action="store_true", help="gift wraps only to their authenticated recipient")
    parser.add_argument("--lmdb")
    parser.add_argument("--unbounded-memory", action="store_true", help="memory_store.MemoryStore, for benchmarks")
    args = parser.parse_args()
    loop = asyncio.get_running_loop()
    uniffi_set_event_loop(loop)
    builder = LocalRelayBuilder().addr("127.0.0.1").port(args.port)
    builder = builder.rate_limit(RateLimit(max_reqs=1000, notes_per_minute=1_000_000))
    if args.lmdb:
        builder = builder.database(await NostrLmdb.open(args.lmdb))
    elif args.unbounded_memory:
        run_inline()
        store = MemoryStore()
        builder = builder.database(store)
        loop.add_signal_handler(signal.SIGUSR1, forget_on_request, store)
    if args.nip42:
        builder = builder.nip42(LocalRelayBuilderNip42(mode=getattr(LocalRelayBuilderNip42Mode, args.nip42.upper())))
    if args.auth_dm:
        builder = builder.auth_dm(True)
    relay = builder.build()
    await relay.run()
    print("ready", await relay.url(), flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    relay.shutdown()
    if args.unbounded_memory:
        # The store's calls run on the relay's threads: leave without tearing the interpreter down under them.
        os._exit(0)


asyncio.run(main())
