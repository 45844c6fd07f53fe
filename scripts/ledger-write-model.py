#!/usr/bin/env python3
"""A model of the ledger's writes, to compare schema choices without the relays' noise.

Usage: scripts/ledger-write-model.py [--events N] [--batch B] [--key id|time] [--authors A] [--author-index yes|no]
Records N events in B-event commits the way Ledger.record does (event row, a `present` row for the
source relay, a `pending` row for the backup), then settles the deliveries in 500-row commits the way
recordDeliveryOutcomes does, and prints the CPU seconds (user and kernel) of each phase. `--key id` is
the v1/v2 schema (events unique by id); `--key time` is v3's (unique by created_at, id).
`--author-index no` leaves out the (pubkey, created_at) index that v4 drops.
Only Python's standard library; the database is a temporary file, removed afterwards.
"""
import argparse, json, os, random, resource, secrets, sqlite3, tempfile, time

p = argparse.ArgumentParser()
p.add_argument("--events", type=int, default=100_000)
p.add_argument("--batch", type=int, default=500)
p.add_argument("--key", choices=["id", "time"], default="time")
p.add_argument("--authors", type=int, default=20)
p.add_argument("--author-index", choices=["yes", "no"], default="no")
args = p.parse_args()

unique = "id TEXT NOT NULL UNIQUE," if args.key == "id" else "id TEXT NOT NULL,"
tail = "" if args.key == "id" else ", UNIQUE (created_at, id)"
conflict = "(id)" if args.key == "id" else "(created_at, id)"
schema = f"""
CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, {unique} pubkey TEXT NOT NULL, kind INTEGER NOT NULL,
  created_at INTEGER NOT NULL, d_tag TEXT, replace_key TEXT, expiration INTEGER, first_relay TEXT NOT NULL,
  first_seen_at INTEGER NOT NULL, raw TEXT NOT NULL{tail});
CREATE INDEX events_replace_key ON events(replace_key) WHERE replace_key IS NOT NULL;
{"CREATE INDEX events_author_time ON events(pubkey, created_at);" if args.author_index == "yes" else ""}
CREATE TABLE deliveries (relay TEXT NOT NULL, seq INTEGER NOT NULL REFERENCES events(seq), state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL DEFAULT 0, reason TEXT,
  updated_at INTEGER NOT NULL, PRIMARY KEY (relay, seq)) WITHOUT ROWID;
CREATE INDEX deliveries_pending ON deliveries(relay, seq) WHERE state = 'pending';
"""

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime

with tempfile.TemporaryDirectory(prefix="relaysync-ledger-model-") as d:
    db = sqlite3.connect(os.path.join(d, "ledger.sqlite"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.executescript(schema)
    authors, source, backup = [secrets.token_hex(32) for _ in range(args.authors)], "ws://127.0.0.1:7001", "ws://127.0.0.1:7002"
    insert = f"""INSERT INTO events (id, pubkey, kind, created_at, d_tag, replace_key, expiration, first_relay, first_seen_at, raw)
                 VALUES (?, ?, 1, ?, NULL, NULL, NULL, ?, 1, ?) ON CONFLICT {conflict} DO NOTHING"""
    u0, s0 = cpu()
    t = 1_700_000_000 + args.events
    for start in range(0, args.events, args.batch):
        db.execute("BEGIN IMMEDIATE")
        for _ in range(start, min(args.events, start + args.batch)):
            # A backfill page goes back in time; ids are random.
            t -= random.randint(0, 2)
            eid, pubkey = secrets.token_hex(32), random.choice(authors)
            raw = json.dumps({"id": eid, "pubkey": pubkey, "created_at": t, "kind": 1, "tags": [], "content": "x" * 300, "sig": secrets.token_hex(64)})
            seq = db.execute(insert, (eid, pubkey, t, source, raw)).lastrowid
            db.execute("INSERT OR IGNORE INTO deliveries (relay, seq, state, updated_at) VALUES (?, ?, 'present', 1)", (source, seq))
            db.execute("INSERT OR IGNORE INTO deliveries (relay, seq, state, updated_at) VALUES (?, ?, 'pending', 1)", (backup, seq))
        db.execute("COMMIT")
    u1, s1 = cpu()
    while True:
        due = db.execute("""SELECT d.seq, e.raw FROM deliveries d INDEXED BY deliveries_pending JOIN events e ON e.seq = d.seq
                            WHERE d.relay = ? AND d.state = 'pending' AND d.next_attempt_at <= 2 ORDER BY d.seq LIMIT 500""", (backup,)).fetchall()
        if not due:
            break
        db.execute("BEGIN IMMEDIATE")
        for seq, _ in due:
            db.execute("""UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, updated_at = 2
                          WHERE relay = ? AND state = 'pending' AND seq = ?""", (backup, seq))
        db.execute("COMMIT")
    u2, s2 = cpu()
    db.close()
print(f"key {args.key}, author index {args.author_index}, {args.events} events in {args.batch}-event commits: "
      f"record user {u1 - u0:.2f} s, kernel {s1 - s0:.2f} s; settle user {u2 - u1:.2f} s, kernel {s2 - s1:.2f} s; "
      f"total {(u2 - u0) + (s2 - s0):.2f} s")
