"""PostgreSQL and Redis for the smoke test: a fresh database and two emptied Redis databases.

A store that does not answer is a failure (``StoreError``), never a reason to skip.
"""
from __future__ import annotations

import psycopg
import redis
from psycopg import sql


class StoreError(RuntimeError):
    pass


def recreate_database(*, server_url: str, name: str) -> str:
    """Drop ``name`` (closing its connections) and create it empty; returns its DATABASE_URL."""
    try:
        with psycopg.connect(f"{server_url}/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise StoreError(f"PostgreSQL at {server_url}: {exc}".strip()) from exc
    return f"{server_url}/{name}"


def flush_redis(*, server_url: str, db: int) -> str:
    """Empty one Redis database; returns its URL."""
    url = f"{server_url}/{db}"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        client.flushdb()
        client.close()
    except redis.RedisError as exc:
        raise StoreError(f"Redis at {url}: {exc}") from exc
    return url
