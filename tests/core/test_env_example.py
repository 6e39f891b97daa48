"""Every setting read from the environment is documented in .env.example."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"')


def test_every_environment_setting_is_in_env_example():
    sources = [ROOT / "vpnbot" / "settings.py", *sorted((ROOT / "vpnbot" / "settings_apps").glob("*.py"))]
    names = {name for path in sources for name in READ.findall(path.read_text())}
    assert {"PANEL_ENCRYPTION_KEY", "PANEL_SYNC_INTERVAL", "TRIAL_ENABLED"} <= names  # the pattern reads them
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert sorted(names - documented) == []
