"""Backup and restore of one platform: the database, the stored files and the two secrets.

One archive (a gzip-compressed tar, mode 600) holds everything a platform cannot
be rebuilt without:

``manifest.json``             format, time, what is inside, the SHA-256 of every member
``database.sqlite3``          the SQLite database, copied with SQLite's online backup API
                              (a consistent snapshot while the server keeps writing); the
                              table segments and the evaluators' encrypted keys live here
``media/…``                   ``MEDIA_ROOT`` (uploaded files)
``keys/pseudonym.key``        the pseudonym key (without it re-imported people get new
                              pseudonyms)
``keys/signing-key.secret``   the secret that encrypts the evaluators' signing keys (when
                              it is kept in a file; a secret given in the environment is
                              never written to disk and must be kept with the archive)

On PostgreSQL the database is dumped with ``pg_dump`` beside this archive
(``backup --no-database``): see docs/decisions/0642-backup-and-restore.md.

A restore first checks every member against the manifest and refuses a damaged or
foreign archive before it touches anything; it refuses to overwrite a platform
that has data or different keys unless forced; it then copies the database back
with the same online backup API (one transaction), swaps the media folder in by
renaming, writes the keys, and finally checks that the ledger holds and that every
stored signing key decrypts with the restored secret.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from utfall.errors import UserError

__all__ = [
    "BACKUP_FORMAT",
    "BackupInvalid",
    "BackupSummary",
    "RestoreSummary",
    "backup_create",
    "backup_restore",
    "backup_verify",
]

BACKUP_FORMAT = "utfall-backup/1"
DATABASE = "database.sqlite3"
PSEUDONYM_KEY = "keys/pseudonym.key"
SIGNING_SECRET = "keys/signing-key.secret"
MANIFEST = "manifest.json"
_CHUNK = 1024 * 1024


class BackupInvalid(UserError):
    """An archive that is damaged, not a utfall backup, or not restorable here."""


@dataclass(frozen=True)
class BackupSummary:
    """What a backup wrote."""

    path: Path
    files: int
    database: str
    signing_key_secret: str
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RestoreSummary:
    """What a restore put back, and what its final check found."""

    files: int
    database: str
    evaluator_keys: int
    ledger_entries: int
    problems: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_sqlite() -> bool:
    return bool(connection.vendor == "sqlite")


def _media_files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                yield path


def _signing_secret_file() -> Path | None:
    """The secret file to back up, or None when the secret comes from the environment."""
    if getattr(settings, "UTFALL_SIGNING_KEY_SECRET", ""):
        return None
    return Path(settings.UTFALL_SIGNING_KEY_SECRET_FILE)


def _copy_database(target: Path) -> None:
    connection.ensure_connection()
    destination = sqlite3.connect(target)
    try:
        connection.connection.backup(destination)
    finally:
        destination.close()


def _keys_not_under_current_secret() -> int:
    from cryptography.fernet import MultiFernet

    from utfall.platform.settlements import keys

    current = MultiFernet([keys._encrypter()])
    stale = 0
    for model in keys._stored_keys():
        for key in model.objects.all():
            try:
                keys._decrypt(key, current)
            except keys.SigningKeysUnreadable:
                stale += 1
    return stale


def backup_create(*, path: Path, include_database: bool = True) -> BackupSummary:
    """Write a backup archive to ``path`` (refusing to overwrite one); see the module doc."""
    if path.exists():
        raise BackupInvalid(f"{path} exists; a backup never overwrites a file")
    if include_database and not _is_sqlite():
        raise BackupInvalid(
            f"the database is {connection.vendor}: dump it with pg_dump "
            "(docs/platform.md, backup and restore) and run backup --no-database"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=path.parent) as staging_name:
        staging = Path(staging_name)
        members: dict[str, Path] = {}
        if include_database:
            _copy_database(staging / DATABASE)
            members[DATABASE] = staging / DATABASE
        media_root = Path(settings.MEDIA_ROOT)
        for file in _media_files(media_root):
            copy = staging / "media" / file.relative_to(media_root)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, copy)
            members[str(PurePosixPath("media", *file.relative_to(media_root).parts))] = copy
        from utfall.platform.pseudonyms import load_key

        load_key()  # a missing key is an error here, not an archive without it
        members[PSEUDONYM_KEY] = Path(settings.UTFALL_PSEUDONYM_KEY_FILE)
        secret_file = _signing_secret_file()
        if secret_file is None:
            secret_source = "environment"
            warnings.append(
                "the signing-key secret comes from UTFALL_SIGNING_KEY_SECRET and is not in the "
                "archive: keep it with the backup, or no restored key can sign"
            )
        else:
            from utfall.platform.settlements.keys import (
                signing_key_secret,
                signing_key_secret_pending_file,
            )

            signing_key_secret()
            if signing_key_secret_pending_file().exists():
                raise BackupInvalid(
                    f"a rotation of the signing-key secret is unfinished ({secret_file}.next "
                    "exists): run rotate_signing_key_secret first"
                )
            secret_source = "file"
            members[SIGNING_SECRET] = secret_file
        stale = _keys_not_under_current_secret()
        if stale:
            warnings.append(
                f"{stale} stored key(s) are not encrypted under the current signing-key secret "
                "(still under SECRET_KEY or a previous secret): run rotate_signing_key_secret, "
                "or they will not decrypt where that old secret is missing"
            )
        manifest = {
            "format": BACKUP_FORMAT,
            "created_at": timezone.now().isoformat(),
            "database": "sqlite" if include_database else f"external ({connection.vendor})",
            "signing_key_secret": secret_source,
            "files": {
                name: {"sha256": _sha256(source), "size": source.stat().st_size}
                for name, source in members.items()
            },
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        partial = path.with_name(path.name + ".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            with tarfile.open(fileobj=handle, mode="w:gz") as archive:
                archive.add(staging / MANIFEST, arcname=MANIFEST)
                for name, source in members.items():
                    archive.add(source, arcname=name)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    return BackupSummary(
        path=path,
        files=len(members),
        database=str(manifest["database"]),
        signing_key_secret=secret_source,
        warnings=warnings,
    )


def _member_name_problem(name: str) -> str | None:
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or "\\" in name:
        return "leaves the archive"
    if name in (DATABASE, PSEUDONYM_KEY, SIGNING_SECRET):
        return None
    if pure.parts[0] == "media" and len(pure.parts) > 1:
        return None
    return "is not part of a utfall backup"


def backup_verify(path: Path, *, extract_to: Path | None = None) -> dict[str, Any]:
    """The archive's manifest, after checking every member against it.

    Raises :class:`BackupInvalid` naming the member for a missing, extra, unsafe or
    changed one. With ``extract_to`` the checked members are written there too.
    """
    if not path.is_file():
        raise BackupInvalid(f"{path}: no such backup file")
    try:
        with tarfile.open(path, mode="r:*") as archive:
            first = archive.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise BackupInvalid(f"{path}: not a utfall backup (no {MANIFEST} first)")
            handle = archive.extractfile(first)
            assert handle is not None
            try:
                manifest = json.loads(handle.read(1024 * 1024))
            except ValueError as error:
                raise BackupInvalid(f"{path}: {MANIFEST} is not JSON ({error})") from None
            if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
                raise BackupInvalid(f"{path}: {MANIFEST} does not name the format {BACKUP_FORMAT}")
            expected: dict[str, Any] = dict(manifest.get("files") or {})
            seen: set[str] = set()
            for member in archive:
                if member is first:
                    continue
                problem = _member_name_problem(member.name)
                if problem is not None or not member.isfile():
                    raise BackupInvalid(
                        f"{path}: member {member.name!r} {problem or 'is not a regular file'}"
                    )
                if member.name not in expected or member.name in seen:
                    raise BackupInvalid(f"{path}: member {member.name!r} is not in the manifest")
                seen.add(member.name)
                source = archive.extractfile(member)
                assert source is not None
                digest = hashlib.sha256()
                target = None
                if extract_to is not None:
                    target_path = extract_to / member.name
                    target_path.parent.mkdir(parents=True, exist_ok=True)
                    target = target_path.open("wb")
                try:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        if target is not None:
                            target.write(chunk)
                finally:
                    if target is not None:
                        target.close()
                if digest.hexdigest() != expected[member.name].get("sha256"):
                    raise BackupInvalid(
                        f"{path}: member {member.name!r} does not match its SHA-256 in the "
                        "manifest (the archive is damaged or was changed)"
                    )
            missing = sorted(set(expected) - seen)
            if missing:
                raise BackupInvalid(f"{path}: member {missing[0]!r} is missing")
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BackupInvalid(f"{path}: the archive cannot be read ({error})") from None
    if PSEUDONYM_KEY not in expected:
        raise BackupInvalid(f"{path}: the archive holds no pseudonym key")
    return manifest


def _platform_has_data() -> bool:
    from django.contrib.auth import get_user_model

    from utfall.platform.contracts.models import Contract

    return bool(get_user_model().objects.exists() or Contract.objects.exists())


def _differs(current: Path, restored: Path) -> bool:
    return current.exists() and current.read_bytes().strip() != restored.read_bytes().strip()


def _write_secret(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(source.read_bytes())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, target)


def _swap_media(restored: Path | None, media_root: Path) -> None:
    media_root.parent.mkdir(parents=True, exist_ok=True)
    old = media_root.with_name(media_root.name + ".before-restore")
    shutil.rmtree(old, ignore_errors=True)
    if media_root.exists():
        os.replace(media_root, old)
    if restored is not None and restored.exists():
        os.replace(restored, media_root)
    else:
        media_root.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(old, ignore_errors=True)


def _restore_database(source: Path) -> None:
    connection.ensure_connection()
    origin = sqlite3.connect(source)
    try:
        origin.backup(connection.connection)
    finally:
        origin.close()


def _check_restored() -> tuple[int, int, list[str]]:
    from utfall.platform.settlements import keys
    from utfall.platform.settlements.ledger import ledger_verify
    from utfall.platform.settlements.models import EvaluatorKey, LedgerRecord

    problems = [f"ledger: {problem}" for problem in ledger_verify()]
    evaluator_keys = 0
    try:
        decrypter = keys._decrypter()
        for model in keys._stored_keys():
            for key in model.objects.all():
                try:
                    keys._decrypt(key, decrypter)
                except keys.SigningKeysUnreadable as error:
                    problems.append(str(error))
                if isinstance(key, EvaluatorKey):
                    evaluator_keys += 1
    except keys.SigningKeysUnreadable as error:
        problems.append(str(error))
    return evaluator_keys, LedgerRecord.objects.count(), problems


def backup_restore(*, path: Path, force: bool = False) -> RestoreSummary:
    """Put the platform back as the archive at ``path`` recorded it; see the module doc."""
    media_root = Path(settings.MEDIA_ROOT)
    key_file = Path(settings.UTFALL_PSEUDONYM_KEY_FILE)
    secret_file = _signing_secret_file()
    media_root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=media_root.parent) as name:
        staging = Path(name)
        manifest = backup_verify(path, extract_to=staging)
        has_database = (staging / DATABASE).exists()
        if has_database and not _is_sqlite():
            raise BackupInvalid(
                f"{path} holds a SQLite database but this platform uses {connection.vendor}"
            )
        if not has_database and _is_sqlite() and not force:
            raise BackupInvalid(
                f"{path} holds no database (it was dumped apart); restore that first, "
                "then run restore --force for the files and keys"
            )
        if not force:
            refusals = []
            if has_database and _platform_has_data():
                refusals.append("the database has users or contracts")
            if any(True for _ in _media_files(media_root)):
                refusals.append(f"{media_root} holds files")
            if _differs(key_file, staging / PSEUDONYM_KEY):
                refusals.append(f"the pseudonym key {key_file} differs from the archive's")
            restored_secret = staging / SIGNING_SECRET
            if (
                secret_file is not None
                and restored_secret.exists()
                and _differs(secret_file, restored_secret)
            ):
                refusals.append(f"the signing-key secret {secret_file} differs")
            if refusals:
                raise BackupInvalid(
                    "refusing to overwrite this platform: "
                    + "; ".join(refusals)
                    + " (restore --force replaces them)"
                )
        if has_database:
            _restore_database(staging / DATABASE)
        _swap_media(staging / "media", media_root)
        _write_secret(staging / PSEUDONYM_KEY, key_file)
        if (staging / SIGNING_SECRET).exists():
            if secret_file is None:
                raise BackupInvalid(
                    "the archive holds a signing-key secret file but UTFALL_SIGNING_KEY_SECRET "
                    "is set: unset it (the file is then used) or set it to the archive's secret"
                )
            _write_secret(staging / SIGNING_SECRET, secret_file)
            from utfall.platform.settlements.keys import signing_key_secret_pending_file

            signing_key_secret_pending_file().unlink(missing_ok=True)
    from django.core.cache import cache

    from utfall.platform.pseudonyms import _cached_key

    _cached_key.cache_clear()
    cache.clear()
    evaluator_keys, entries, problems = _check_restored()
    return RestoreSummary(
        files=len(manifest["files"]),
        database=str(manifest["database"]),
        evaluator_keys=evaluator_keys,
        ledger_entries=entries,
        problems=problems,
    )
