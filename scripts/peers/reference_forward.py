"""The reference client doing a live forward, for `bench-agent --steady`'s comparison.

Invoked as `reference_forward.py run --config sync.json` (the arguments `relaysync run` takes): reads
the pubkeys and the primary and backup relays from the config, subscribes to the pubkeys' new
events on the primaries with nostr-sdk (rust-nostr), and sends each event it receives to the backups,
waiting for their OKs. It keeps nothing (no ledger, no archive, no delivery state): what a live note
costs the reference client when it only forwards, not an equivalent of the agent. Refuses any relay
that is not on loopback; ends on SIGTERM.
"""

import asyncio
import json
import signal
import sys
from urllib.parse import urlsplit

from nostr_sdk import Client, Filter, PublicKey, RelayUrl, ReqTarget


async def forward(inbound: Client, outbound: Client) -> None:
    notifications = inbound.notifications()
    while True:
        notification = await notifications.next()
        if notification is None or notification.is_shutdown():
            return
        # nostr-sdk verifies an event and notifies a new one once, whichever relay sent it first.
        if notification.is_new_event():
            await outbound.send_event(notification.event)


def loopback(url: str) -> str:
    host = urlsplit(url).hostname or ""
    if not (host.startswith("127.") or host == "::1"):
        sys.exit(f"reference_forward.py: {url} is not on loopback")
    return url


async def main(config_path: str) -> None:
    with open(config_path) as f:
        config = json.load(f)
    primaries = [loopback(r["url"]) for r in config["relays"] if r.get("role", "primary") == "primary"]
    backups = [loopback(r["url"]) for r in config["relays"] if r.get("role") == "backup"]
    inbound, outbound = Client(), Client()
    for url in primaries:
        await inbound.add_relay(RelayUrl.parse(url))
    for url in backups:
        await outbound.add_relay(RelayUrl.parse(url))
    await inbound.connect()
    await outbound.connect()
    authors = [PublicKey.parse(k) for k in config["pubkeys"]]
    await inbound.subscribe(ReqTarget.auto([Filter().authors(authors).limit(0)]))
    # SIGTERM's default action ends the process.
    await forward(inbound, outbound)


if __name__ == "__main__":
    # A parent built on Swift's runtime may hand down a mask that blocks SIGTERM.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    args = sys.argv[1:]
    if len(args) != 3 or args[0] != "run" or args[1] != "--config":
        sys.exit("usage: reference_forward.py run --config sync.json")
    asyncio.run(main(args[2]))
