"""An unbounded in-memory event store for nostr-sdk's LocalRelay, for benchmarks only.

LocalRelay's own in-memory store keeps only the newest 75,000 events, and its LMDB store writes one
event at a time at a few hundred events/s, so at 100,000 events a benchmark would measure the relay's
store instead of the agent. This store keeps every event in a dict, applies NIP-01's replaceable and
addressable rules and NIP-09 deletions, and answers queries newest first within the filter's limit.
LocalRelay still does all the protocol work: parsing, verification, limits and subscriptions.

uniffi runs every call of a Python-implemented store as a coroutine on the asyncio loop, handed over
from the relay's tokio thread and back: two such hops per stored event held this store to about 900
events/s, so the benchmark measured the hops. `run_inline` completes the call on the calling thread
instead. It applies only to this store, whose methods never await; a lock keeps them atomic.

Handing a query's events back to Rust cost about 6 µs an event in uniffi's generated writer (a
checked FFI call to clone each handle, then eight Python-level byte stores per handle), which made
a NIP-77 session over 20,000 events cost the relay 0.12 s in glue alone. `run_inline` also installs
a writer for event lists that makes the same clone calls with one status block and packs the
handles in one copy.
"""
import bisect
import ctypes
import json
import struct
import threading

import nostr_sdk.nostr_sdk as _ffi

from nostr_sdk import (DatabaseEventStatus, Filter, NostrDatabase, NostrDatabaseFeatures, RejectedReason,
                       SaveEventStatus)


_SIMPLE_KEYS = {"ids", "authors", "kinds", "since", "until", "limit"}


def _is_replaceable(kind):
    return kind in (0, 3) or 10_000 <= kind < 20_000


def _is_addressable(kind):
    return 30_000 <= kind < 40_000


def _newer(a, b):
    """NIP-01: the later created_at wins; on a tie, the lowest id."""
    return (a[0] > b[0]) or (a[0] == b[0] and a[1] < b[1])


@_ffi._UNIFFI_FOREIGN_FUTURE_DROPPED_CALLBACK
def _nothing_to_drop(handle):
    pass


def _run_inline(make_call, out_dropped, handle_success, handle_error, error_type=None, lower_error=None):
    """uniffi's foreign-future call, completed before returning to Rust."""
    out_dropped[0] = _ffi._UniffiForeignFutureDroppedCallbackStruct(0, _nothing_to_drop)
    coroutine = make_call()
    try:
        coroutine.send(None)
    except StopIteration as done:
        handle_success(done.value)
        return
    except Exception as e:
        if error_type is not None and isinstance(e, error_type):
            handle_error(_ffi._UniffiRustCallStatus.CALL_ERROR, lower_error(e))
        else:
            handle_error(_ffi._UniffiRustCallStatus.CALL_UNEXPECTED_ERROR, _ffi._UniffiFfiConverterString.lower(repr(e)))
        return
    coroutine.close()
    handle_error(_ffi._UniffiRustCallStatus.CALL_UNEXPECTED_ERROR,
                 _ffi._UniffiFfiConverterString.lower("MemoryStore method suspended"))


def _write_events(cls, value, buf):
    """uniffi's `Vec<Event>` lowering, in bulk: each handle cloned (Rust takes ownership of the clone,
    as with the generated writer), the count and handles packed big-endian in one copy."""
    clone = _ffi._UniffiLib.uniffi_nostr_sdk_ffi_fn_clone_event
    status = _ffi._UniffiRustCallStatus.default()
    ref = ctypes.byref(status)
    handles = [clone(event._handle, ref) for event in value]
    if status.code != _ffi._UniffiRustCallStatus.CALL_SUCCESS:
        raise _ffi.InternalError("cloning an event handle failed")
    data = struct.pack(">i%dQ" % len(handles), len(handles), *handles)
    with buf._reserve(len(data)):
        ctypes.memmove(ctypes.cast(buf.rbuf.data, ctypes.c_void_p).value + buf.rbuf.len, data, len(data))


def run_inline():
    """Routes uniffi's async trait calls through `_run_inline` (this process has no other such trait),
    and event lists through `_write_events`."""
    _ffi._uniffi_trait_interface_call_async = _run_inline
    _ffi._uniffi_trait_interface_call_async_with_error = _run_inline
    _ffi._UniffiFfiConverterSequenceTypeEvent.write = classmethod(_write_events)


class MemoryStore(NostrDatabase):
    def __init__(self):
        self.lock = threading.Lock()
        self._reset()

    def _reset(self):
        self.events = {}        # id hex -> (created_at, Event)
        self.order = []         # (created_at, id hex), sorted lazily before a query
        self.sorted = True
        self.heads = {}         # (pubkey, kind[, d]) -> (created_at, id hex)
        self.deleted = set()
        self.meta = {}          # id hex -> (pubkey hex, kind): simple filters match without a call into Rust
        self.tags = {}          # tag letter -> value -> ids: built at the first query naming the letter, kept after
        self.tag_hits = {}      # tag conditions -> their events' sorted (created_at, id), until the store changes

    def backend(self):
        return "relaysync-bench-memory"

    def features(self):
        return NostrDatabaseFeatures(persistent=False, event_expiration=False, full_text_search=False,
                                     request_to_vanish=False)

    async def save_event(self, event):
        with self.lock:
            return self._save(event)

    def _save(self, event):
        eid = event.id().to_hex()
        if eid in self.events:
            return SaveEventStatus.rejected(RejectedReason.DUPLICATE)
        if eid in self.deleted:
            return SaveEventStatus.rejected(RejectedReason.DELETED)
        kind = event.kind().as_u16()
        if 20_000 <= kind < 30_000:
            return SaveEventStatus.rejected(RejectedReason.EPHEMERAL)
        created = event.created_at().as_secs()
        pubkey = event.author().to_hex()
        if _is_replaceable(kind) or _is_addressable(kind):
            key = (pubkey, kind)
            if _is_addressable(kind):
                d = next((t[1] for t in json.loads(event.as_json())["tags"] if len(t) > 1 and t[0] == "d"), "")
                key = (pubkey, kind, d)
            head = self.heads.get(key)
            if head is not None and not _newer((created, eid), head):
                return SaveEventStatus.rejected(RejectedReason.REPLACED)
            if head is not None:
                self._remove(head[1])
            self.heads[key] = (created, eid)
        if kind == 5:
            for tag in json.loads(event.as_json())["tags"]:
                target = self.events.get(tag[1]) if len(tag) > 1 and tag[0] == "e" else None
                if target is not None and target[1].author().to_hex() == pubkey:
                    self._remove(tag[1])
                    self.deleted.add(tag[1])
        self.events[eid] = (created, event)
        self.meta[eid] = (pubkey, kind)
        if self.tags:
            self._index_tags(eid, json.loads(event.as_json())["tags"])
        self.tag_hits = {}
        self.order.append((created, eid))
        self.sorted = False
        return SaveEventStatus.success()

    def _index_tags(self, eid, tags):
        for tag in tags:
            if len(tag) > 1 and tag[0] in self.tags:
                self.tags[tag[0]].setdefault(tag[1], set()).add(eid)

    def _tag_index(self, letter):
        """Ids by value of single-letter tag `letter`, as relays index tags: built from every event held
        the first time a query names the letter, then kept by `_save`."""
        if letter not in self.tags:
            self.tags[letter] = {}
            for eid, (_, event) in self.events.items():
                for tag in json.loads(event.as_json())["tags"]:
                    if len(tag) > 1 and tag[0] == letter:
                        self.tags[letter].setdefault(tag[1], set()).add(eid)
        return self.tags[letter]

    def _remove(self, eid):
        if self.events.pop(eid, None) is not None:
            self.sorted = False
            self.tag_hits = {}  # the stale (created_at, id) pair is skipped and pruned at the next sort

    async def check_id(self, event_id):
        eid = event_id.to_hex()
        with self.lock:
            if eid in self.events:
                return DatabaseEventStatus.SAVED
            return DatabaseEventStatus.DELETED if eid in self.deleted else DatabaseEventStatus.NOT_EXISTENT

    async def event_by_id(self, event_id):
        with self.lock:
            found = self.events.get(event_id.to_hex())
        return found[1] if found else None

    async def count(self, filter):
        with self.lock:
            return len(self._query(filter))

    async def query(self, filter):
        with self.lock:
            return self._query(filter)

    def _query(self, filter):
        if not self.sorted:
            # Appends since the last sort form one run after a sorted one, which Timsort merges in
            # linear time; a pair held twice (an event forgotten and sent again) sorts next to itself.
            self.order.sort()
            kept, previous = [], None
            for pair in self.order:
                if pair != previous and pair[1] in self.events:
                    kept.append(pair)
                previous = pair
            self.order = kept
            self.sorted = True
        spec = json.loads(filter.as_json())
        limit = spec.get("limit")
        if limit == 0:
            return []
        until = spec.get("until", 2**63)
        since = spec.get("since", 0)
        ids = spec.get("ids")
        # A filter of ids, authors, kinds, since, until and limit only (what backfills and NIP-77
        # sessions send) is matched here: one `match_event` call into Rust per candidate cost about
        # 7 µs, 0.35 s per 50,000 events. Anything else (tags, search, empty lists) goes to `match_event`.
        # Single-letter tag conditions (`#p`, `#t`...) are answered from a tag index, as relays do.
        tag_keys = [k for k in spec if len(k) == 2 and k[0] == "#" and k[1].isalpha()]
        simple = (set(spec) - set(tag_keys) <= _SIMPLE_KEYS and all(spec[k] for k in ("ids", "authors", "kinds") if k in spec)
                  and all(spec[k] for k in tag_keys))
        authors = set(spec["authors"]) if simple and "authors" in spec else None
        kinds = set(spec["kinds"]) if simple and "kinds" in spec else None
        result = []
        if ids is not None:
            candidates = sorted((self.events[i][0], i) for i in ids if i in self.events)
            candidates.reverse()
            if tag_keys:
                simple = False
        elif simple and tag_keys:
            # Pages of one query ask again with a lower `until`: the matches stay sorted until the store changes.
            conditions = tuple((key, tuple(sorted(spec[key]))) for key in sorted(tag_keys))
            hits = self.tag_hits.get(conditions)
            if hits is None:
                chosen = None
                for key in tag_keys:
                    index = self._tag_index(key[1])
                    having = set().union(*(index.get(value, ()) for value in spec[key]))
                    chosen = having if chosen is None else chosen & having
                hits = sorted((self.events[e][0], e) for e in chosen if e in self.events)
                self.tag_hits[conditions] = hits
            end = bisect.bisect_right(hits, (until, "g"))
            candidates = (hits[i] for i in range(end - 1, -1, -1))
        else:
            end = bisect.bisect_right(self.order, (until, "g"))
            candidates = (self.order[i] for i in range(end - 1, -1, -1))
        for created, eid in candidates:
            if created < since:
                break
            if created > until:
                continue
            event = self.events[eid][1]
            if simple:
                pubkey, kind = self.meta[eid]
                matched = (authors is None or pubkey in authors) and (kinds is None or kind in kinds)
            else:
                matched = filter.match_event(event)
            if matched:
                result.append(event)
                if limit is not None and len(result) >= limit:
                    break
        return result

    async def delete_events(self, filter):
        with self.lock:
            self._delete(filter)

    def _delete(self, filter):
        for event in self._query(Filter.from_json(json.dumps({k: v for k, v in json.loads(filter.as_json()).items()
                                                              if k != "limit"}))):
            self._remove(event.id().to_hex())

    async def wipe(self):
        with self.lock:
            self._reset()

    def forget(self, ids):
        """Drops these events behind the relay's back (a backup losing data, for benchmarks): unlike a
        NIP-09 deletion they are not remembered, so the same event is accepted again when re-sent.
        Returns how many of the ids were held."""
        removed = 0
        with self.lock:
            for eid in ids:
                found = self.events.pop(eid, None)
                if found is None:
                    continue
                removed += 1
                for key, head in list(self.heads.items()):
                    if head[1] == eid:
                        del self.heads[key]
            if removed:
                self.sorted = False
                self.tag_hits = {}
        return removed
