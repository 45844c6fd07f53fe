"""Deletes events from a stopped test relay's store, as a disk fault or an operator would: the
relay is not told, so a client that delivered them still believes it did.

  store_delete.py --nostr-relay SQLITE_PATH < ids      nostr-relay's SQLite store
  store_delete.py --lmdb DIR < ids                     LocalRelay's LMDB store (nostr-sdk NostrLmdb)

Reads one hex event id per line; prints the number of ids it was given.
"""
import argparse
import asyncio
import sqlite3
import sys


def delete_sqlite(path, ids):
    db = sqlite3.connect(path)
    with db:
        for i in ids:
            raw = bytes.fromhex(i)
            db.execute("DELETE FROM tags WHERE id = ?", (raw,))
            db.execute("DELETE FROM events WHERE id = ?", (raw,))
    db.close()


async def delete_lmdb(path, ids):
    from nostr_sdk import EventId, Filter, NostrLmdb, uniffi_set_event_loop
    uniffi_set_event_loop(asyncio.get_running_loop())
    db = await NostrLmdb.open(path)
    for start in range(0, len(ids), 500):
        await db.delete_events(Filter().ids([EventId.parse(i) for i in ids[start:start + 500]]))


parser = argparse.ArgumentParser()
group = parser.add_mutually_exclusive_group(required=True)
group.add_argument("--nostr-relay")
group.add_argument("--lmdb")
args = parser.parse_args()
ids = [line.strip() for line in sys.stdin if line.strip()]
if args.nostr_relay:
    delete_sqlite(args.nostr_relay, ids)
else:
    asyncio.run(delete_lmdb(args.lmdb, ids))
print(len(ids))
