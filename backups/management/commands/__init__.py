"""manage.py backup_create, backup_list, backup_status, backup_verify, backup_restore,
backup_cleanup, backup_import: the backups when the bot is down."""
