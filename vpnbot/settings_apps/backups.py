"""Settings of the backups app, read from the environment (listed in .env.example)."""

from pathlib import Path

from vpnbot.settings_env import BASE_DIR, env

BACKUP_RETENTION_DAYS = env.int("BACKUP_RETENTION_DAYS", default=30)
BACKUP_COMPRESSION = env.bool("BACKUP_COMPRESSION", default=True)
BACKUP_COMPRESSION_ALGORITHM = env("BACKUP_COMPRESSION_ALGORITHM", default="zstd")
BACKUP_ENCRYPTION_KEY = env("BACKUP_ENCRYPTION_KEY", default="")
BACKUP_DIR = Path(env("BACKUP_DIR", default=str((BASE_DIR / 'var') / "backups")))
BACKUP_CHAT_ID = env("BACKUP_CHAT_ID", default="")
BACKUP_KEEP_DAILY = env.int("BACKUP_KEEP_DAILY", default=7)
BACKUP_KEEP_WEEKLY = env.int("BACKUP_KEEP_WEEKLY", default=4)
BACKUP_KEEP_MONTHLY = env.int("BACKUP_KEEP_MONTHLY", default=12)
# Where backup files are kept: a class implementing backups.storage.BackupStorage.
BACKUP_STORAGE = env("BACKUP_STORAGE", default="backups.storage.LocalStorage")
# Size of each document part sent to BACKUP_CHAT_ID; 0 = automatic (49 MB on the cloud Bot API,
# 1999 MB when TELEGRAM_API_URL is a local Bot API server).
BACKUP_TELEGRAM_PART_BYTES = env.int("BACKUP_TELEGRAM_PART_BYTES", default=0)
# A crashed holder's lock is ignored after this many seconds.
BACKUP_LOCK_TIMEOUT = env.int("BACKUP_LOCK_TIMEOUT", default=6 * 3600)
