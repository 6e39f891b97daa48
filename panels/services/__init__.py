"""The panels' operations, by subject: the catalog of panels (catalog), an account's life
(accounts), expiry enforced by the shop (expiry), the usage sync and drift (sync)."""

from .accounts import (
    account_add_traffic,
    account_changed,
    account_failed,
    account_for,
    account_provision,
    account_push,
    account_push_failed,
    account_regenerate_link,
    account_retry,
    account_set_suspended,
    chain_root,
    extend_start,
    provision_start,
    spec_for,
)
from .catalog import (
    inbounds_clean,
    panel_choose,
    panel_create,
    panel_delete,
    panel_test,
    panel_update,
    plan_is_on_panels,
    plan_set_targets,
    plan_targets,
)
from .errors import PanelsError
from .expiry import ExpiryResult, accounts_expire
from .sync import SyncResult, account_repair, panel_sync, panels_sync_all

__all__ = [
    "ExpiryResult", "PanelsError", "SyncResult", "account_add_traffic", "account_changed", "account_failed",
    "account_for", "account_provision", "account_push", "account_push_failed", "account_regenerate_link",
    "account_repair", "account_retry", "account_set_suspended", "accounts_expire", "chain_root", "extend_start",
    "inbounds_clean", "panel_choose", "panel_create", "panel_delete", "panel_sync", "panel_test", "panel_update",
    "panels_sync_all", "plan_is_on_panels", "plan_set_targets", "plan_targets", "provision_start", "spec_for",
]
