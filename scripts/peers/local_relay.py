"""Runs nostr-sdk's LocalRelay (rust-nostr) on 127.0.0.1:PORT until SIGTERM.

Usage: local_relay.py --port P [--nip42 read|write|both] [--lmdb DIR]
The rate limit is lifted so tests and benchmarks measure the relay, not its
throttle. Prints "ready URL" once listening.
"""
import argparse
import asyncio
import signal

from nostr_sdk import (LocalRelayBuilder, LocalRelayBuilderNip42, LocalRelayBuilderNip42Mode, NostrLmdb, RateLimit,
                       uniffi_set_event_loop)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--nip42", choices=["read", "write", "both"])
    parser.add_argument("--lmdb")
    args = parser.parse_args()
    loop = asyncio.get_running_loop()
    uniffi_set_event_loop(loop)
    builder = LocalRelayBuilder().addr("127.0.0.1").port(args.port)
    builder = builder.rate_limit(RateLimit(max_reqs=1000, notes_per_minute=1_000_000))
    if args.lmdb:
        builder = builder.database(await NostrLmdb.open(args.lmdb))
    if args.nip42:
        builder = builder.nip42(LocalRelayBuilderNip42(mode=getattr(LocalRelayBuilderNip42Mode, args.nip42.upper())))
    relay = builder.build()
    await relay.run()
    print("ready", await relay.url(), flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    relay.shutdown()


asyncio.run(main())
